import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { conflictFiles, exitBadge, formatDuration, gatePending, grammarOf, mergeOffer, shortSha, subjectOf } from "./codeView";

describe("commits", () => {
  it("names a commit by its short sha and its subject line", () => {
    expect(shortSha("0123456789abcdef0123")).toBe("0123456");
    expect(subjectOf("Add the slug helper\n\nWith its test.\n\nAgentWorks-Run: 1")).toBe("Add the slug helper");
    expect(subjectOf("")).toBe("");
  });
});

describe("formatDuration", () => {
  it("reads as milliseconds, seconds or minutes", () => {
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(12_340)).toBe("12.3 s");
    expect(formatDuration(125_000)).toBe("2 min 5 s");
  });
});

describe("exitBadge", () => {
  it("says the exit code, green only for 0", () => {
    expect(exitBadge({ exit_code: 0, timed_out: false, killed_reason: null })).toEqual({ label: "exit 0", tone: "ok" });
    expect(exitBadge({ exit_code: 1, timed_out: false, killed_reason: null })).toEqual({ label: "exit 1", tone: "failed" });
  });
  it("says why the sandbox stopped a command before its exit code", () => {
    expect(exitBadge({ exit_code: 137, timed_out: true, killed_reason: "time limit" })).toEqual({ label: "timed out", tone: "stopped" });
    expect(exitBadge({ exit_code: 137, timed_out: false, killed_reason: "cpu_time" })).toEqual({ label: "stopped: CPU time limit", tone: "stopped" });
    expect(exitBadge({ exit_code: 137, timed_out: false, killed_reason: "out_of_memory" })).toEqual({ label: "stopped: out of memory", tone: "stopped" });
  });
});

describe("gatePending", () => {
  it("holds only in a gated lane with a run awaiting approval", () => {
    const pending = [{ approval: null }, { approval: "pending" }];
    expect(gatePending({ requires_approval: true }, pending)).toBe(true);
    expect(gatePending({ requires_approval: false }, pending)).toBe(false);
    expect(gatePending({ requires_approval: true }, [{ approval: "approved" }])).toBe(false);
    expect(gatePending(undefined, pending)).toBe(false);
  });
});

describe("mergeOffer", () => {
  const ready = { exists: true, merged: false, commits: [{}] };
  it("is never shown to a viewer", () => {
    expect(mergeOffer(false, ready, false)).toEqual({ shown: false, blocked: null });
  });
  it("lets a member merge a branch with commits", () => {
    expect(mergeOffer(true, ready, false)).toEqual({ shown: true, blocked: null });
  });
  it("says why it is disabled", () => {
    expect(mergeOffer(true, ready, true).blocked).toMatch(/awaiting approval/);
    expect(mergeOffer(true, { ...ready, merged: true }, false).blocked).toBe("Already merged.");
    expect(mergeOffer(true, { ...ready, commits: [] }, false).blocked).toMatch(/no commits/);
    expect(mergeOffer(true, { ...ready, exists: false, commits: [] }, false).blocked).toMatch(/no commits/);
  });
});

describe("conflictFiles", () => {
  it("reads the files a merge conflict names", () => {
    const conflict = new ApiError(409, "merge_conflict", "The branch conflicts with main.", { files: ["app.py", "tests/test_app.py", 3] });
    expect(conflictFiles(conflict)).toEqual(["app.py", "tests/test_app.py"]);
    expect(conflictFiles(new ApiError(409, "merge_conflict", "x", ["a.py"]))).toEqual(["a.py"]);
  });
  it("names none for any other failure", () => {
    expect(conflictFiles(new ApiError(409, "approval_pending", "x", { files: ["a.py"] }))).toEqual([]);
    expect(conflictFiles(new ApiError(500, "merge_conflict", "x", { files: ["a.py"] }))).toEqual([]);
    expect(conflictFiles(new Error("x"))).toEqual([]);
  });
});

describe("grammarOf", () => {
  it("picks the grammar by extension or by the file's name", () => {
    expect(grammarOf("src/app/slug.py")).toBe("python");
    expect(grammarOf("web/App.TSX")).toBe("tsx");
    expect(grammarOf("Dockerfile")).toBe("docker");
    expect(grammarOf("services/Makefile")).toBe("makefile");
    expect(grammarOf("README")).toBeNull();
    expect(grammarOf(".gitignore")).toBeNull();
    expect(grammarOf("notes.unknown")).toBeNull();
  });
});
