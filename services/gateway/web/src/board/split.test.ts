import { describe, expect, it } from "vitest";
import { clampDrawer, defaultDrawer, drawerBounds, MIN_BOARD, MIN_DRAWER, readDrawerWidth, saveDrawerWidth, widthAfterKey } from "./split";

function memory(): Storage {
  const items = new Map<string, string>();
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
  } as Storage;
}

describe("the drawer's width", () => {
  it("keeps the header's minimum and room for the board", () => {
    expect(drawerBounds(1440)).toEqual({ min: MIN_DRAWER, max: 1440 - MIN_BOARD });
    expect(clampDrawer(100, 1440)).toBe(MIN_DRAWER);
    expect(clampDrawer(5000, 820)).toBe(820 - MIN_BOARD);
    expect(clampDrawer(450.6, 820)).toBe(451);
  });
  it("never goes below the header's minimum, even in a viewport too narrow to leave the board its room", () => {
    expect(drawerBounds(500)).toEqual({ min: MIN_DRAWER, max: MIN_DRAWER });
    expect(clampDrawer(900, 500)).toBe(MIN_DRAWER);
  });
  it("starts as the layout always had it: a 520 px panel on a laptop, about half of a tablet", () => {
    expect(defaultDrawer(1440)).toBe(520);
    expect(defaultDrawer(820)).toBe(426);
    expect(defaultDrawer(680)).toBe(MIN_DRAWER); // half would be narrower than the header needs
  });
  it("moves with the arrow keys (bigger steps with Shift), and to its ends with Home and End", () => {
    expect(widthAfterKey("ArrowLeft", false, 520, 1440)).toBe(536);
    expect(widthAfterKey("ArrowRight", false, 520, 1440)).toBe(504);
    expect(widthAfterKey("ArrowLeft", true, 520, 1440)).toBe(584);
    expect(widthAfterKey("ArrowRight", true, 380, 1440)).toBe(MIN_DRAWER);
    expect(widthAfterKey("Home", false, 520, 1440)).toBe(MIN_DRAWER);
    expect(widthAfterKey("End", false, 520, 1440)).toBe(1440 - MIN_BOARD);
    expect(widthAfterKey("Enter", false, 520, 1440)).toBeNull();
  });
  it("is remembered, and a damaged or missing entry reads as none", () => {
    const storage = memory();
    expect(readDrawerWidth(storage)).toBeNull();
    saveDrawerWidth(612.4, storage);
    expect(readDrawerWidth(storage)).toBe(612);
    storage.setItem("aw.drawer-width", "wide");
    expect(readDrawerWidth(storage)).toBeNull();
  });
});
