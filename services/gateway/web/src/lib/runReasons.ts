// Why a run did no work or did not finish, in words for the card's run row and the agent's transcript tab.

import type { AgentRunSkipped } from "../api/generated/events/agent-runs";

export type SkipReason = AgentRunSkipped["reason_code"];

/** Every reason the contract gives for an agent not running, named briefly (a new code must be named here). */
export const SKIP_REASONS: Record<SkipReason, string> = {
  disabled: "turned off",
  quota_exceeded: "hourly run quota reached",
  budget_exceeded: "budget spent",
  circuit_open: "provider failing",
  provider_not_configured: "provider not configured",
};

/** Ends a person needs the reason of: the agent did not run (skipped, or refused by an earlier release) or failed. */
const EXPLAINED = new Set(["skipped", "refused", "failed"]);

/** A reason code briefly: a skip's in words, any other (a failure's error code) as it is. */
export function reasonLabel(code: string | null): string | null {
  if (code === null) return null;
  return code in SKIP_REASONS ? SKIP_REASONS[code as SkipReason] : code.replace(/_/g, " ");
}

/** What the card says about a run's end ("budget spent: The monthly budget is spent; …"), or null. */
export function runReason(status: string | null, code: string | null, reason: string | null): string | null {
  if (status === null || !EXPLAINED.has(status) || !(reason || code)) return null;
  const label = reasonLabel(code);
  return label && reason ? `${label}: ${reason}` : (reason ?? label);
}
