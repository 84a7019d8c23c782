// The drawer's Details: the card's short id, labels (pick or create), due date, assignee (a person of the
// workspace or an agent), and archiving (with undo) or, for owners, deleting it for good.

import { useState, type FormEvent } from "react";
import { api } from "../api/client";
import { keys, useAction, useMembers } from "../api/hooks";
import type { Board, Card, Label } from "../api/types";
import { AGENT_NAMES } from "../api/generated/agents";
import { ErrorNote, usePlace } from "../ui";
import { LabelChip } from "./LabelChip";
import { useCardNavigation } from "./cardNavigation";

interface Props {
  card: Card;
  board: Board;
  workspaceId: string;
  canWrite: boolean;
}

export function CardDetails({ card, board, workspaceId, canWrite }: Props) {
  const refresh = [["card", card.id], keys.board(board.id)] as const;
  const patch = useAction((body: Record<string, unknown>) => api<Card>(`/api/cards/${card.id}`, { method: "PATCH", body }), refresh);
  return (
    <div className="stack" data-testid="card-details">
      <p className="muted">
        <strong data-testid="card-human-id">{card.human_id}</strong>
      </p>
      <Labels card={card} board={board} canWrite={canWrite} />
      <label>
        Due{" "}
        <input
          type="date"
          aria-label="Due date"
          disabled={!canWrite}
          value={card.due_date ?? ""}
          onChange={(e) => patch.mutate(e.target.value ? { due_date: e.target.value } : { clear: ["due_date"] })}
        />
      </label>
      <Assignee card={card} workspaceId={workspaceId} canWrite={canWrite} onChange={(body) => patch.mutate(body)} />
      <ErrorNote error={patch.error} />
      {canWrite ? <Archive card={card} boardId={board.id} workspaceId={workspaceId} /> : null}
    </div>
  );
}

function Labels({ card, board, canWrite }: { card: Card; board: Board; canWrite: boolean }) {
  const [name, setName] = useState("");
  const [color, setColor] = useState("#2f80ed");
  const refresh = [["card", card.id], keys.board(board.id)] as const;
  const toggle = useAction(
    ({ id, on }: { id: string; on: boolean }) => api<Card>(`/api/cards/${card.id}/labels/${id}`, { method: on ? "PUT" : "DELETE" }),
    refresh,
  );
  const create = useAction(async () => {
    const label = await api<Label>(`/api/projects/${card.project_id}/labels`, { method: "POST", body: { name: name.trim(), color } });
    await api<Card>(`/api/cards/${card.id}/labels/${label.id}`, { method: "PUT" });
    setName("");
  }, refresh);
  function submit(event: FormEvent) {
    event.preventDefault();
    if (name.trim()) create.mutate(undefined);
  }
  const held = new Set(card.label_ids);
  return (
    <fieldset className="labels" aria-label="Labels">
      <legend>Labels</legend>
      <div className="row wrap">
        {board.labels.length === 0 ? <span className="muted">No labels in this project yet.</span> : null}
        {board.labels.map((label) => (
          <label key={label.id} className="label-option">
            <input
              type="checkbox"
              disabled={!canWrite || toggle.isPending}
              checked={held.has(label.id)}
              onChange={(e) => toggle.mutate({ id: label.id, on: e.target.checked })}
            />
            <LabelChip label={label} />
          </label>
        ))}
      </div>
      {canWrite ? (
        <form className="row" onSubmit={submit} aria-label="New label">
          <input aria-label="New label name" placeholder="New label" value={name} maxLength={40} onChange={(e) => setName(e.target.value)} />
          <input type="color" aria-label="New label colour" value={color} onChange={(e) => setColor(e.target.value)} />
          <button type="submit" disabled={!name.trim() || create.isPending}>
            Add label
          </button>
        </form>
      ) : null}
      <ErrorNote error={toggle.error ?? create.error} />
    </fieldset>
  );
}

function Assignee({ card, workspaceId, canWrite, onChange }: { card: Card; workspaceId: string; canWrite: boolean; onChange: (body: Record<string, unknown>) => void }) {
  const members = useMembers(workspaceId);
  const people = (members.data ?? []).filter((m) => m.user_id && m.status === "active");
  const value = card.assignee_agent ? `agent:${card.assignee_agent}` : card.assignee_id ? `person:${card.assignee_id}` : "";
  function pick(choice: string) {
    const [kind, id] = choice.split(":");
    if (!kind) onChange({ clear: ["assignee_id", "assignee_agent"] });
    else onChange(kind === "agent" ? { assignee_agent: id } : { assignee_id: id });
  }
  return (
    <label>
      Assignee{" "}
      <select aria-label="Assignee" disabled={!canWrite} value={value} onChange={(e) => pick(e.target.value)}>
        <option value="">Nobody</option>
        <optgroup label="People">
          {people.map((m) => (
            <option key={m.id} value={`person:${m.user_id}`}>
              {m.email}
            </option>
          ))}
        </optgroup>
        <optgroup label="Agents">
          {Object.entries(AGENT_NAMES).map(([key, name]) => (
            <option key={key} value={`agent:${key}`}>
              {name}
            </option>
          ))}
        </optgroup>
      </select>
    </label>
  );
}

function Archive({ card, boardId, workspaceId }: { card: Card; boardId: string; workspaceId: string }) {
  const { role } = usePlace();
  const navigation = useCardNavigation(workspaceId, card.project_id);
  const refresh = [["card", card.id], keys.board(boardId), keys.archived(card.project_id)] as const;
  const archive = useAction((on: boolean) => api<Card>(`/api/cards/${card.id}/${on ? "archive" : "unarchive"}`, { method: "POST" }), refresh);
  const remove = useAction(() => api<void>(`/api/cards/${card.id}`, { method: "DELETE" }), [keys.board(boardId), keys.archived(card.project_id)]);
  function deleteForGood() {
    if (!window.confirm(`Delete ${card.human_id} “${card.title}” for good? Its history stays, the card does not.`)) return;
    remove.mutate(undefined, { onSuccess: () => navigation.leave() });
  }
  return (
    <div className="row">
      {card.archived_at ? (
        <p className="note" role="status" data-testid="card-archived">
          Archived.{" "}
          <button type="button" onClick={() => archive.mutate(false)} disabled={archive.isPending}>
            Undo
          </button>
        </p>
      ) : (
        <button type="button" onClick={() => archive.mutate(true)} disabled={archive.isPending}>
          Archive
        </button>
      )}
      {role === "owner" ? (
        <button type="button" className="danger" onClick={deleteForGood} disabled={remove.isPending}>
          Delete…
        </button>
      ) : null}
      <ErrorNote error={archive.error ?? remove.error} />
    </div>
  );
}
