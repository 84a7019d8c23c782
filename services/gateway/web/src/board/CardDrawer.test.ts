import { describe, expect, it } from "vitest";
import { keys } from "../api/hooks";
import { afterRunChange } from "./CardDrawer";

describe("afterRunChange", () => {
  it("refreshes the project's documents and their versions, which a single-call run writes on completion", () => {
    const refreshed = afterRunChange("c1", "b1", "p1");
    expect(refreshed).toContainEqual(keys.documents("p1"));
    expect(refreshed).toContainEqual(["versions", "p1"]);
    expect(refreshed).toContainEqual(keys.cardRuns("c1"));
    expect(refreshed).toContainEqual(keys.board("b1"));
  });
});
