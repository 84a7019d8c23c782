// The board's search and filters, kept in the page's address (so a reload, a link or the back button keeps
// them): free text, label, priority, assignee and the agents' state on the card. Pure, so the URL round trip and the
// matching are tested without a browser.

import type { Board, Card } from "../api/types";

/** The agents' state on a card, as the board's filter names it. */
export const AGENT_STATES = {
  active: "agent working",
  awaiting: "awaiting approval",
  failed: "failed or refused",
  done: "agents done",
  none: "no runs yet",
} as const;
export type AgentState = keyof typeof AGENT_STATES;

export const PRIORITIES = ["urgent", "high", "medium", "low", "none"] as const;
export type Priority = (typeof PRIORITIES)[number];

/** An assignee filter: a member's id, or "none" for cards nobody holds. */
export type AssigneeFilter = string;

export interface BoardFilters {
  text: string;
  /** Label ids: a card passes with any one of them. */
  labels: string[];
  priorities: Priority[];
  assignee: AssigneeFilter | null;
  agentState: AgentState | null;
}

export const NO_FILTERS: BoardFilters = { text: "", labels: [], priorities: [], assignee: null, agentState: null };

const PARAMS = { text: "q", labels: "label", priorities: "priority", assignee: "assignee", agentState: "agent" } as const;

function isPriority(value: string): value is Priority {
  return (PRIORITIES as readonly string[]).includes(value);
}

function isAgentState(value: string | null): value is AgentState {
  return value !== null && Object.hasOwn(AGENT_STATES, value);
}

/** The filters an address holds; a value the board does not know is left out, not an error. */
export function filtersFromSearch(search: URLSearchParams): BoardFilters {
  const agent = search.get(PARAMS.agentState);
  return {
    text: search.get(PARAMS.text) ?? "",
    labels: (search.get(PARAMS.labels) ?? "").split(",").filter(Boolean),
    priorities: (search.get(PARAMS.priorities) ?? "").split(",").filter(isPriority),
    assignee: search.get(PARAMS.assignee) || null,
    agentState: isAgentState(agent) ? agent : null,
  };
}

/** The address's parameters with these filters (others, such as the open card, are kept); empty ones are left out. */
export function filtersToSearch(filters: BoardFilters, search: URLSearchParams): URLSearchParams {
  const next = new URLSearchParams(search);
  const values: Record<keyof BoardFilters, string> = {
    text: filters.text.trim() ? filters.text : "",
    labels: filters.labels.join(","),
    priorities: PRIORITIES.filter((p) => filters.priorities.includes(p)).join(","),
    assignee: filters.assignee ?? "",
    agentState: filters.agentState ?? "",
  };
  for (const key of Object.keys(PARAMS) as (keyof BoardFilters)[]) {
    if (values[key]) next.set(PARAMS[key], values[key]);
    else next.delete(PARAMS[key]);
  }
  return next;
}

export function isFiltering(filters: BoardFilters): boolean {
  return Boolean(filters.text.trim() || filters.labels.length || filters.priorities.length || filters.assignee || filters.agentState);
}

/** The agents' state on a card, from the runs summary the board carries. */
export function agentStateOf(card: Pick<Card, "runs">): AgentState {
  const runs = card.runs;
  if (!runs) return "none";
  if (runs.awaiting_approval > 0) return "awaiting";
  if (["queued", "running", "requested"].includes(runs.last_status)) return "active";
  if (["failed", "refused"].includes(runs.last_status)) return "failed";
  return "done";
}

/** Whether a card passes every filter; the text matches the short id, title or description, whatever the case. */
export function cardMatches(card: Card, filters: BoardFilters): boolean {
  const text = filters.text.trim().toLocaleLowerCase();
  if (text && !`${card.human_id}\n${card.title}\n${card.description}`.toLocaleLowerCase().includes(text)) return false;
  if (filters.labels.length && !filters.labels.some((label) => card.label_ids.includes(label))) return false;
  if (filters.priorities.length && !filters.priorities.includes(card.priority)) return false;
  if (filters.assignee) {
    const wanted = filters.assignee === "none" ? null : filters.assignee;
    if (card.assignee_id !== wanted) return false;
  }
  if (filters.agentState && agentStateOf(card) !== filters.agentState) return false;
  return true;
}

/** How many of a lane's cards the filters show, by lane id (every lane is kept, so drops still find it). */
export function visibleCards(board: Board, filters: BoardFilters): Map<string, Card[]> {
  return new Map(board.lanes.map((lane) => [lane.id, isFiltering(filters) ? lane.cards.filter((card) => cardMatches(card, filters)) : lane.cards]));
}
