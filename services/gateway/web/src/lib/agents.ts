import { AGENT_NAMES } from "../api/generated/agents";

/** An agent as people know it ("CEO CoPilot", "PRD"), from its key; a key the registry lacks reads as words. */
export function agentName(key: string): string {
  return AGENT_NAMES[key] ?? key.replace(/_/g, " ");
}
