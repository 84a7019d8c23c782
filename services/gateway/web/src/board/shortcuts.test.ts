import { describe, expect, it } from "vitest";
import { shortcutOf } from "./shortcuts";

const press = (key: string, extra: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean; target: EventTarget | null }> = {}) =>
  shortcutOf({ key, ctrlKey: false, metaKey: false, altKey: false, target: null, ...extra });

/** A stand-in for a DOM element: what `closest` finds decides whether it takes typing. */
const element = (typing: boolean) => ({ isContentEditable: false, closest: () => (typing ? {} : null) }) as unknown as EventTarget;

describe("shortcutOf", () => {
  it("maps the board's keys", () => {
    expect(press("/")).toBe("search");
    expect(press("c")).toBe("create");
    expect(press("?")).toBe("help");
    expect(press("k", { ctrlKey: true })).toBe("palette");
    expect(press("K", { metaKey: true })).toBe("palette");
    expect(press("x")).toBeNull();
  });
  it("leaves keys typed into a field, and the browser's own combinations, alone", () => {
    expect(press("c", { target: element(true) })).toBeNull();
    expect(press("/", { target: element(true) })).toBeNull();
    expect(press("c", { target: element(false) })).toBe("create");
    expect(press("c", { ctrlKey: true })).toBeNull();
    expect(press("/", { altKey: true })).toBeNull();
    // The palette opens from a field too: Ctrl+K types nothing.
    expect(press("k", { ctrlKey: true, target: element(true) })).toBe("palette");
  });
});
