// The project's archived cards, shown from the board's toolbar: searched by short id, title or description, each
// opened, restored to its lane, or (owners) deleted for good.

import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api } from "../api/client";
import { keys, useArchivedCards } from "../api/hooks";
import type { Card } from "../api/types";
import { ErrorNote, Loaded } from "../ui";
import { cardMatches, NO_FILTERS } from "./filters";

export const ARCHIVED_PANEL = "archived-cards";

interface Props {
  projectId: string;
  boardId: string;
  canWrite: boolean;
  canDelete: boolean;
  onOpen: (shortId: string) => void;
}

/** The archived cards whose short id, title or description holds the text. */
export function archivedMatching(cards: Card[], text: string): Card[] {
  return cards.filter((card) => cardMatches(card, { ...NO_FILTERS, text }));
}

export function ArchivedCards(props: Props) {
  const archived = useArchivedCards(props.projectId);
  const [text, setText] = useState("");
  return (
    <section id={ARCHIVED_PANEL} className="archived panel stack" aria-labelledby="archived-title">
      <div className="row">
        <h2 id="archived-title" className="archived-title">
          Archived cards
        </h2>
        <input type="search" aria-label="Search archived cards" placeholder="Search archived cards" value={text} onChange={(e) => setText(e.target.value)} />
      </div>
      <Loaded query={archived} label="Loading the archived cards…">
        {(pages) => {
          const cards = pages.pages.flatMap((page) => page.items);
          const shown = archivedMatching(cards, text);
          return (
            <>
              {cards.length === 0 ? <p className="muted">No archived cards.</p> : null}
              {cards.length > 0 && shown.length === 0 ? <p className="muted">No archived card matches.</p> : null}
              <ul className="archived-list">
                {shown.map((card) => (
                  <ArchivedCard key={card.id} card={card} {...props} />
                ))}
              </ul>
              {archived.hasNextPage ? (
                <button type="button" onClick={() => void archived.fetchNextPage()} disabled={archived.isFetchingNextPage}>
                  {archived.isFetchingNextPage ? "Loading…" : "Show more"}
                </button>
              ) : null}
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

function ArchivedCard({ card, projectId, boardId, canWrite, canDelete, onOpen }: Props & { card: Card }) {
  const client = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function act(request: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await request();
      await Promise.all([
        client.invalidateQueries({ queryKey: keys.archived(projectId) }),
        client.invalidateQueries({ queryKey: keys.board(boardId) }),
        client.invalidateQueries({ queryKey: ["card", card.id] }),
      ]);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }
  const restore = () => act(() => api<Card>(`/api/cards/${card.id}/unarchive`, { method: "POST" }));
  const remove = () => {
    if (!window.confirm(`Delete ${card.human_id} “${card.title}” for good? Its history stays, the card does not.`)) return;
    void act(() => api<void>(`/api/cards/${card.id}`, { method: "DELETE" }));
  };
  return (
    <li className="archived-card" data-testid="archived-card" data-card-ref={card.human_id}>
      <button type="button" className="link archived-open" onClick={() => onOpen(card.human_id)}>
        <span className="human-id">{card.human_id}</span> {card.title}
      </button>
      {card.archived_at ? <span className="muted small">archived {new Date(card.archived_at).toLocaleDateString()}</span> : null}
      {canWrite ? (
        <button type="button" onClick={() => void restore()} disabled={busy} aria-label={`Restore ${card.human_id}`}>
          Restore
        </button>
      ) : null}
      {canDelete ? (
        <button type="button" className="danger" onClick={remove} disabled={busy} aria-label={`Delete ${card.human_id} for good`}>
          Delete…
        </button>
      ) : null}
      <ErrorNote error={error} />
    </li>
  );
}
