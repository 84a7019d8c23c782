// Pure helpers of the card's Code tab: what a command run's badge says, whether and why the Merge button is
// offered, which files a merge conflict names, and which grammar highlights a changed file.

import { ApiError } from "../api/client";

/** A commit's short name, as git prints it. */
export function shortSha(sha: string): string {
  return sha.slice(0, 7);
}

/** The first line of a commit message (the rest is its body and trailers). */
export function subjectOf(message: string): string {
  return message.split("\n", 1)[0]?.trim() ?? "";
}

/** A duration for people: "850 ms", "12.3 s", "2 min 5 s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

export type BadgeTone = "ok" | "failed" | "stopped";

/** The sandbox's reasons for stopping a command, as people say them (an unknown one reads as itself). */
const KILLED_REASONS: Readonly<Record<string, string>> = {
  timeout: "time limit",
  cpu_time: "CPU time limit",
  file_size: "file size limit",
  killed: "killed",
};

/** The badge of a command run: its exit code, or why the sandbox stopped it. */
export function exitBadge(run: { exit_code: number; timed_out: boolean; killed_reason: string | null }): { label: string; tone: BadgeTone } {
  if (run.timed_out) return { label: "timed out", tone: "stopped" };
  if (run.killed_reason) return { label: `stopped: ${KILLED_REASONS[run.killed_reason] ?? run.killed_reason.replace(/_/g, " ")}`, tone: "stopped" };
  return { label: `exit ${run.exit_code}`, tone: run.exit_code === 0 ? "ok" : "failed" };
}

/** Whether the card's lane holds a run at its approval gate: merging waits for that decision. */
export function gatePending(lane: { requires_approval: boolean } | undefined, runs: readonly { approval: string | null }[]): boolean {
  return Boolean(lane?.requires_approval) && runs.some((run) => run.approval === "pending");
}

export interface MergeOffer {
  /** Viewers never see the button. */
  shown: boolean;
  /** Why the button is disabled, or null when a click merges. */
  blocked: string | null;
}

/** Whether the Merge button is offered, and why it is disabled when it is. A branch that no longer merges cleanly
 * stays clickable: the attempt answers the files in conflict. */
export function mergeOffer(
  canWrite: boolean,
  code: { exists: boolean; merged: boolean; commits: readonly unknown[] },
  pendingGate: boolean,
): MergeOffer {
  if (!canWrite) return { shown: false, blocked: null };
  if (!code.exists || code.commits.length === 0) return { shown: true, blocked: "The branch has no commits to merge yet." };
  if (code.merged) return { shown: true, blocked: "Already merged." };
  if (pendingGate) return { shown: true, blocked: "A run in this lane is awaiting approval: approve or reject it before merging." };
  return { shown: true, blocked: null };
}

/** The files a refused merge names (a 409 `merge_conflict`), else none. */
export function conflictFiles(error: unknown): string[] {
  if (!(error instanceof ApiError) || error.status !== 409 || error.code !== "merge_conflict") return [];
  const details = error.details;
  const files = Array.isArray(details) ? details : isRecord(details) ? details.files : null;
  return Array.isArray(files) ? files.filter((file): file is string => typeof file === "string") : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** Refractor grammar per file extension (or whole file name); the diff view registers exactly these. */
export const GRAMMAR_BY_EXTENSION: Readonly<Record<string, string>> = {
  py: "python",
  pyi: "python",
  ts: "typescript",
  mts: "typescript",
  cts: "typescript",
  tsx: "tsx",
  js: "javascript",
  mjs: "javascript",
  cjs: "javascript",
  jsx: "jsx",
  json: "json",
  md: "markdown",
  css: "css",
  html: "markup",
  svg: "markup",
  xml: "markup",
  yml: "yaml",
  yaml: "yaml",
  toml: "toml",
  sh: "bash",
  bash: "bash",
  sql: "sql",
  go: "go",
  rs: "rust",
  java: "java",
  dockerfile: "docker",
  makefile: "makefile",
};

/** The grammar that highlights a file, by its extension or, for Dockerfile and Makefile, its name; null for plain text. */
export function grammarOf(path: string): string | null {
  const name = (path.split("/").pop() ?? "").toLowerCase();
  const dot = name.lastIndexOf(".");
  const key = dot > 0 ? name.slice(dot + 1) : name;
  return GRAMMAR_BY_EXTENSION[key] ?? null;
}
