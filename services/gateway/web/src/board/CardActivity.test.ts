import { describe as suite, expect, it } from "vitest";
import type { ActivityItem } from "../api/types";
import { describe } from "./CardActivity";

const base: ActivityItem = {
  id: "audit:1", kind: "other", action: "run.requested", at: "2026-12-06T10:00:00.000000Z", actor_id: "u", agent: null,
  changes: [], from_lane: null, to_lane: null, run_id: null, status: null, reason: null, decision: null, comment_id: null,
  branch: null, sha: null, text: "",
};

suite("describe (the activity timeline)", () => {
  it("says what an edit changed, from what to what", () => {
    const edit = { ...base, kind: "edited" as const, changes: [{ field: "due_date", before: null, after: "2026-12-24" }, { field: "title", before: "A", after: "B" }] };
    expect(describe(edit)).toBe("changed due date from nothing to 2026-12-24; title from A to B");
  });
  it("names the lanes of a move and the outcome of a run and an approval", () => {
    expect(describe({ ...base, kind: "moved", from_lane: "0 Vision & Strategy", to_lane: "1 Product" })).toBe("moved it from 0 Vision & Strategy to 1 Product");
    expect(describe({ ...base, kind: "run", agent: "prd", status: "failed", reason: "budget_exceeded" })).toBe("ran: failed (budget_exceeded)");
    expect(describe({ ...base, kind: "approval", agent: "prd", decision: "rejected", text: "redo" })).toBe("rejected PRD's run: redo");
  });
  it("names the branch a merge took and its commit, shortened", () => {
    const merge = { ...base, kind: "merged" as const, action: "code.merged", branch: "card/checkout-1a2b3c4d", sha: "c0ffee1234567890c0ffee1234567890c0ffee12" };
    expect(describe(merge)).toBe("merged card/checkout-1a2b3c4d as c0ffee1");
  });
  it("shows a deleted comment without its text and any other action in words", () => {
    expect(describe({ ...base, kind: "comment", text: "" })).toBe("deleted a comment");
    expect(describe(base)).toBe("run requested");
  });
});
