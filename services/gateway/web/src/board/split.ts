// The width of the card drawer beside the board, set by dragging or with the keyboard on the separator between
// them and kept in this browser. Pure, so the clamping and the keys are tested without a browser.

const STORAGE_KEY = "aw.drawer-width";
/** Narrower than this, the drawer's header would wrap its actions out of a glance (title, close, approve…). */
export const MIN_DRAWER = 360;
/** The board keeps at least this much beside the drawer: a lane and a bit. */
export const MIN_BOARD = 300;
/** Above this viewport width the drawer lies over the board's right side; below it they share the row. */
export const OVERLAY_FROM = 1101;
/** Below this viewport width the drawer is a full-screen sheet and has no separator. */
export const SHEET_UNTIL = 640;
const OVERLAY_DEFAULT = 520;
const SPLIT_SHARE = 0.52;
const STEP = 16;
const BIG_STEP = 64;

/** The widths the drawer may take in a viewport this wide. */
export function drawerBounds(viewport: number): { min: number; max: number } {
  const max = Math.max(MIN_DRAWER, viewport - MIN_BOARD);
  return { min: Math.min(MIN_DRAWER, max), max };
}

export function clampDrawer(width: number, viewport: number): number {
  const { min, max } = drawerBounds(viewport);
  return Math.round(Math.min(max, Math.max(min, width)));
}

/** The drawer's width before anyone resized it, as the layout has always had it. */
export function defaultDrawer(viewport: number): number {
  return clampDrawer(viewport >= OVERLAY_FROM ? OVERLAY_DEFAULT : viewport * SPLIT_SHARE, viewport);
}

/** The width a key on the separator asks for, or null for a key it does not use. The separator sits on the
 * drawer's left edge: moving it left (ArrowLeft) widens the drawer. */
export function widthAfterKey(key: string, shift: boolean, width: number, viewport: number): number | null {
  const step = shift ? BIG_STEP : STEP;
  const { min, max } = drawerBounds(viewport);
  switch (key) {
    case "ArrowLeft":
      return clampDrawer(width + step, viewport);
    case "ArrowRight":
      return clampDrawer(width - step, viewport);
    case "Home":
      return min;
    case "End":
      return max;
    default:
      return null;
  }
}

/** The remembered width, or null when none (or a damaged one) is kept. */
export function readDrawerWidth(storage: Pick<Storage, "getItem"> = localStorage): number | null {
  const saved = Number(storage.getItem(STORAGE_KEY));
  return Number.isFinite(saved) && saved > 0 ? saved : null;
}

export function saveDrawerWidth(width: number, storage: Pick<Storage, "setItem"> = localStorage): void {
  storage.setItem(STORAGE_KEY, String(Math.round(width)));
}
