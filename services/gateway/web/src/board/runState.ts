// How a run's state reads to people: one word or phrase, never a status and a contradicting approval side by side.

import type { Run } from "../api/types";

type RunLike = Pick<Run, "status" | "approval">;

/** The run's state in words: a finished run held by a gate reads "awaiting approval", not "completed". */
export function runStateLabel(run: RunLike): string {
  if (run.approval === "pending") return "awaiting approval";
  if (run.approval === "approved" || run.approval === "rejected") return run.approval;
  return run.status;
}

/** The CSS class the state is coloured by (approval states have their own colours). */
export function runStateClass(run: RunLike): string {
  return run.approval ? `approval ${run.approval}` : `status ${run.status}`;
}

/** The runs a person may decide on now (held by a gate), oldest first as they were asked. */
export function pendingApprovals<T extends RunLike>(runs: readonly T[]): T[] {
  return runs.filter((run) => run.approval === "pending").reverse();
}

/** The card's state in the drawer's header: the newest run's, as "<agent> <state>", or null with no runs. */
export function latestRunState<T extends RunLike & Pick<Run, "agent">>(runs: readonly T[], nameOf: (agent: string) => string): string | null {
  const newest = runs[0];
  return newest ? `${nameOf(newest.agent)} ${runStateLabel(newest)}` : null;
}
