import { describe, expect, it } from "vitest";
import { notificationLink, shouldNotify, workspaceOf } from "./inbox";

describe("inbox", () => {
  it("links a notification to its card on its project's board", () => {
    expect(notificationLink("w1", { project_id: "p1", card_id: "c1" })).toBe("/w/w1/p/p1/board?card=c1");
    expect(notificationLink("w1", { project_id: null, card_id: null })).toBeNull();
  });

  it("reads the workspace from the address", () => {
    expect(workspaceOf("/w/abc/p/def/board")).toBe("abc");
    expect(workspaceOf("/")).toBeNull();
  });

  it("shows a browser notification only in a hidden tab the person allowed", () => {
    expect(shouldNotify(true, "granted")).toBe(true);
    expect(shouldNotify(false, "granted")).toBe(false);
    expect(shouldNotify(true, "default")).toBe(false);
    expect(shouldNotify(true, undefined)).toBe(false);
  });
});
