// The separator between the board and the open card's drawer. A window splitter as ARIA describes it: dragged
// with a pointer, or focused and moved with the arrow keys (Shift for bigger steps), Home and End; its value is
// the drawer's width in pixels. Written here rather than taken from a panels library because the drawer is not
// a panel of a group on every screen: on a laptop it lies over the board, which keeps its width and scrolls
// under it, and only on a tablet do the two share the row; the limits are pixels the header needs, not shares.

import { useEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from "react";
import { clampDrawer, defaultDrawer, drawerBounds, readDrawerWidth, saveDrawerWidth, widthAfterKey } from "./split";

function viewportWidth(): number {
  return document.documentElement.clientWidth;
}

/** The drawer's width in this viewport (the one chosen here before, else the layout's own) and a way to set it. */
export function useDrawerWidth() {
  const [viewport, setViewport] = useState(viewportWidth);
  const [chosen, setChosen] = useState<number | null>(() => readDrawerWidth());
  useEffect(() => {
    const onResize = () => setViewport(viewportWidth());
    window.addEventListener("resize", onResize);
    return () => window.removeEventListener("resize", onResize);
  }, []);
  const width = chosen === null ? defaultDrawer(viewport) : clampDrawer(chosen, viewport);
  const choose = (next: number, remember: boolean) => {
    setChosen(next);
    if (remember) saveDrawerWidth(next);
  };
  return { width, viewport, choose };
}

interface SeparatorProps {
  width: number;
  viewport: number;
  controls: string;
  onResize: (width: number, remember: boolean) => void;
}

export function DrawerSeparator({ width, viewport, controls, onResize }: SeparatorProps) {
  const drag = useRef<{ pointer: number; startX: number; startWidth: number; last: number } | null>(null);
  const { min, max } = drawerBounds(viewport);

  function onPointerDown(event: PointerEvent<HTMLDivElement>) {
    if (event.button !== 0) return;
    event.preventDefault(); // no text selection while dragging
    event.currentTarget.setPointerCapture(event.pointerId);
    event.currentTarget.focus();
    drag.current = { pointer: event.pointerId, startX: event.clientX, startWidth: width, last: width };
  }
  function onPointerMove(event: PointerEvent<HTMLDivElement>) {
    const current = drag.current;
    if (!current || current.pointer !== event.pointerId) return;
    current.last = clampDrawer(current.startWidth + current.startX - event.clientX, viewport);
    onResize(current.last, false);
  }
  function onPointerEnd(event: PointerEvent<HTMLDivElement>) {
    const current = drag.current;
    if (!current || current.pointer !== event.pointerId) return;
    drag.current = null;
    onResize(current.last, true); // remembered once, where the drag ends
  }
  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    const next = widthAfterKey(event.key, event.shiftKey, width, viewport);
    if (next === null) return;
    event.preventDefault();
    onResize(next, true);
  }

  return (
    <div
      className="drawer-separator"
      role="separator"
      aria-orientation="vertical"
      aria-label="Resize the card panel"
      aria-controls={controls}
      aria-valuenow={width}
      aria-valuemin={min}
      aria-valuemax={max}
      aria-valuetext={`Card panel ${width} pixels wide`}
      tabIndex={0}
      title="Drag, or use the arrow keys, to resize the card panel"
      data-testid="drawer-separator"
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerEnd}
      onPointerCancel={onPointerEnd}
      onKeyDown={onKeyDown}
    />
  );
}
