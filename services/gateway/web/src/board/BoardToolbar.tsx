// The board's title, search and filters. The filters live in the address (filters.ts); typing replaces the
// history entry rather than adding one per key.

import { forwardRef, useEffect, useRef, useState } from "react";
import { useMembers } from "../api/hooks";
import { AGENT_STATES, isFiltering, NO_FILTERS, PRIORITIES, type AgentState, type BoardFilters, type Priority } from "./filters";
import { CARD_CHOICES } from "./cardChoices";
import { ARCHIVED_PANEL } from "./ArchivedCards";

interface ToolbarProps {
  title: string;
  labels: { id: string; name: string }[];
  workspaceId: string;
  filters: BoardFilters;
  shown: number;
  total: number;
  onChange: (filters: BoardFilters) => void;
  archivedShown: boolean;
  onToggleArchived: () => void;
}

export const BoardToolbar = forwardRef<HTMLInputElement, ToolbarProps>(function BoardToolbar(props, searchRef) {
  const { filters, onChange } = props;
  const members = useMembers(props.workspaceId);
  const people = (members.data ?? []).filter((m) => m.user_id);
  const filtering = isFiltering(filters);
  // The address follows typing a moment later (the router updates it in a transition): the field keeps what is
  // typed, and takes the address's text only when it changed elsewhere (cleared, the back button).
  const [text, setText] = useState(filters.text);
  const echoes = useRef<string[]>([]);
  useEffect(() => {
    const echo = echoes.current.indexOf(filters.text);
    if (echo >= 0) echoes.current.splice(0, echo + 1);
    else {
      echoes.current = [];
      setText(filters.text);
    }
  }, [filters.text]);
  const search = (value: string) => {
    setText(value);
    echoes.current.push(value);
    onChange({ ...filters, text: value });
  };
  return (
    <div className="board-toolbar">
      <h1 className="board-title">{props.title}</h1>
      {/* Beside the title, so the drawer lying over the board's right side never covers it. */}
      <button type="button" className="archived-toggle" aria-expanded={props.archivedShown} aria-controls={props.archivedShown ? ARCHIVED_PANEL : undefined} onClick={props.onToggleArchived}>
        Archived
      </button>
      <div className="board-filters" role="search" aria-label="Search and filter cards">
        <input
          ref={searchRef}
          type="search"
          className="board-search"
          aria-label="Search cards"
          placeholder="Search cards  ( / )"
          value={text}
          onChange={(e) => search(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Escape" && text) {
              e.preventDefault();
              search("");
            }
          }}
        />
        <select aria-label="Filter by label" value={filters.labels.length === 1 ? filters.labels[0] : ""} onChange={(e) => onChange({ ...filters, labels: e.target.value ? [e.target.value] : [] })}>
          <option value="">Any label</option>
          {props.labels.map((label) => (
            <option key={label.id} value={label.id}>
              {label.name}
            </option>
          ))}
        </select>
        <select
          aria-label="Filter by priority"
          value={filters.priorities.length === 1 ? filters.priorities[0] : ""}
          onChange={(e) => onChange({ ...filters, priorities: e.target.value ? [e.target.value as Priority] : [] })}
        >
          <option value="">Any priority</option>
          {PRIORITIES.map((priority) => (
            <option key={priority} value={priority}>
              {CARD_CHOICES.priority.names[priority]}
            </option>
          ))}
        </select>
        <select aria-label="Filter by assignee" value={filters.assignee ?? ""} onChange={(e) => onChange({ ...filters, assignee: e.target.value || null })}>
          <option value="">Anyone</option>
          <option value="none">Nobody</option>
          {people.map((member) => (
            <option key={member.id} value={member.user_id ?? ""}>
              {member.email}
            </option>
          ))}
        </select>
        <select
          aria-label="Filter by agents"
          value={filters.agentState ?? ""}
          onChange={(e) => onChange({ ...filters, agentState: (e.target.value || null) as AgentState | null })}
        >
          <option value="">Any agent state</option>
          {Object.entries(AGENT_STATES).map(([state, name]) => (
            <option key={state} value={state}>
              {name}
            </option>
          ))}
        </select>
        {filtering ? (
          <>
            <span className="muted small" role="status" data-testid="filter-count">
              {props.shown} of {props.total} cards
            </span>
            <button type="button" className="link" onClick={() => onChange(NO_FILTERS)}>
              Clear filters
            </button>
          </>
        ) : null}
      </div>
    </div>
  );
});
