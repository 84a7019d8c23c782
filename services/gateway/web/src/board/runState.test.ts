import { describe, expect, it } from "vitest";
import { latestRunState, pendingApprovals, runStateClass, runStateLabel } from "./runState";

describe("runStateLabel", () => {
  it("reads a finished run a gate holds as awaiting approval, never as completed", () => {
    expect(runStateLabel({ status: "completed", approval: "pending" })).toBe("awaiting approval");
    expect(runStateClass({ status: "completed", approval: "pending" })).toBe("approval pending");
  });
  it("names the decision once one is taken, and the status of a run no gate holds", () => {
    expect(runStateLabel({ status: "completed", approval: "approved" })).toBe("approved");
    expect(runStateLabel({ status: "completed", approval: "rejected" })).toBe("rejected");
    expect(runStateLabel({ status: "running", approval: null })).toBe("running");
    expect(runStateClass({ status: "failed", approval: null })).toBe("status failed");
  });
});

describe("pendingApprovals", () => {
  it("lists the held runs, oldest first, from runs listed newest first", () => {
    const runs = [
      { id: "3", status: "completed", approval: "pending" },
      { id: "2", status: "completed", approval: "rejected" },
      { id: "1", status: "completed", approval: "pending" },
    ];
    expect(pendingApprovals(runs).map((run) => run.id)).toEqual(["1", "3"]);
  });
});

describe("latestRunState", () => {
  it("says the newest run's agent and state, or nothing before any run", () => {
    const name = (agent: string) => agent.toUpperCase();
    expect(latestRunState([{ agent: "prd", status: "completed", approval: "pending" }], name)).toBe("PRD awaiting approval");
    expect(latestRunState([], name)).toBeNull();
  });
});
