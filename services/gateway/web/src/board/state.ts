// The board's state logic, free of React: where a drop lands, whether the WIP limit allows it, the
// optimistic move, and folding live card events into the board.

import type { CardEventsEvent, CardSnapshot } from "../api/generated/events/card-events";
import type { AgentConfig, Board, Card, Lane } from "../api/types";
import type { NotificationFrame } from "../notifications/inbox";

export interface Place {
  laneId: string;
  index: number;
}

export function findCard(board: Board, cardId: string): { lane: Lane; index: number; card: Card } | null {
  for (const lane of board.lanes) {
    const index = lane.cards.findIndex((c) => c.id === cardId);
    const card = lane.cards[index];
    if (card) return { lane, index, card };
  }
  return null;
}

/** Where a card dropped on `overId` (a lane or another card) goes; null when nothing would change. */
export function resolveDrop(board: Board, cardId: string, overId: string): Place | null {
  const from = findCard(board, cardId);
  if (!from) return null;
  const lane = board.lanes.find((l) => l.id === overId);
  let place: Place | null = null;
  if (lane) {
    const end = lane.cards.filter((c) => c.id !== cardId).length;
    place = { laneId: lane.id, index: end };
  } else {
    const target = findCard(board, overId);
    if (target) place = { laneId: target.lane.id, index: target.index };
  }
  if (!place || (place.laneId === from.lane.id && place.index === from.index)) return null;
  return place;
}

/** What a screen reader hears while a card is dragged: card and lane names, never ids. */
export interface DragAnnouncements {
  onDragStart(args: { active: { id: string | number } }): string;
  onDragOver(args: { active: { id: string | number }; over: { id: string | number } | null }): string;
  onDragEnd(args: { active: { id: string | number }; over: { id: string | number } | null }): string;
  onDragCancel(args: { active: { id: string | number } }): string;
}

export function dragAnnouncements(current: () => Board | undefined): DragAnnouncements {
  const name = (id: string | number) => {
    const board = current();
    const found = board ? findCard(board, String(id)) : null;
    return found ? `card ${found.card.title}` : "the card";
  };
  const target = (id: string | number | undefined) => {
    const board = current();
    if (!board || id === undefined) return null;
    const lane = board.lanes.find((l) => l.id === String(id));
    if (lane) return `lane ${lane.name}`;
    const found = findCard(board, String(id));
    return found ? `card ${found.card.title} in lane ${found.lane.name}` : null;
  };
  return {
    onDragStart: ({ active }) => `Picked up ${name(active.id)}.`,
    onDragOver: ({ active, over }) => {
      const place = target(over?.id);
      return place ? `Moved ${name(active.id)} over ${place}.` : `Moved ${name(active.id)} away from every lane.`;
    },
    onDragEnd: ({ active, over }) => {
      const place = target(over?.id);
      return place ? `Dropped ${name(active.id)} on ${place}.` : `Dropped ${name(active.id)} where it was.`;
    },
    onDragCancel: ({ active }) => `Cancelled moving ${name(active.id)}; it is back where it was.`,
  };
}

/** The reason a move would be refused by the lane's WIP limit, or null. Moves within a lane always fit. */
export function wipRefusal(board: Board, cardId: string, laneId: string): string | null {
  const from = findCard(board, cardId);
  const lane = board.lanes.find((l) => l.id === laneId);
  if (!from || !lane || from.lane.id === laneId || lane.wip_limit === null) return null;
  if (lane.cards.length < lane.wip_limit) return null;
  return `${lane.name} is at its WIP limit (${lane.cards.length}/${lane.wip_limit}).`;
}

function renumber(cards: Card[], laneId: string): Card[] {
  return cards.map((card, position) =>
    card.position === position && card.lane_id === laneId ? card : { ...card, position, lane_id: laneId },
  );
}

/** The board after moving a card to `place` (a new object; the old one is kept for rollback). */
export function moveCard(board: Board, cardId: string, place: Place): Board {
  const from = findCard(board, cardId);
  if (!from) return board;
  const lanes = board.lanes.map((lane) => {
    let cards = lane.cards.filter((c) => c.id !== cardId);
    if (lane.id === place.laneId) {
      const index = Math.max(0, Math.min(place.index, cards.length));
      cards = [...cards.slice(0, index), from.card, ...cards.slice(index)];
    }
    if (cards.length === lane.cards.length && lane.id !== place.laneId && lane.id !== from.lane.id) return lane;
    return { ...lane, cards: renumber(cards, lane.id), card_count: cards.length };
  });
  return { ...board, lanes };
}

/** A card event as the board channel carries it (log-stream forwards each event as the server wrote it). */
export type CardEvent = CardEventsEvent;

/** The channel sends every field of the snapshot; only a `partial` frame leaves out the description. */
type SentSnapshot = Required<Omit<CardSnapshot, "description">> & Pick<CardSnapshot, "description">;

function fromSnapshot(board: Board, snapshot: CardSnapshot, existing: Card | undefined): Card {
  const { card_id, lane_number: _laneNumber, description, checklist, ...fields } = snapshot as SentSnapshot;
  const now = new Date().toISOString();
  return {
    ...fields,
    checklist: checklist.map((item) => ({ text: item.text, done: item.done ?? false })),
    id: card_id,
    project_id: existing?.project_id ?? board.project_id,
    board_id: board.id,
    description: description ?? existing?.description ?? "",
    created_at: existing?.created_at ?? now,
    updated_at: now,
    archived_at: null,
    runs: existing?.runs ?? null,
  };
}

function removeCard(board: Board, cardId: string): Board {
  if (!findCard(board, cardId)) return board;
  return {
    ...board,
    lanes: board.lanes.map((lane) =>
      lane.cards.some((c) => c.id === cardId)
        ? { ...lane, cards: renumber(lane.cards.filter((c) => c.id !== cardId), lane.id) }
        : lane,
    ),
  };
}

function placeCard(board: Board, card: Card, laneId: string, position: number): Board {
  const without = removeCard(board, card.id);
  if (!without.lanes.some((l) => l.id === laneId)) return without;
  return {
    ...without,
    lanes: without.lanes.map((lane) => {
      if (lane.id !== laneId) return lane;
      const index = Math.max(0, Math.min(position, lane.cards.length));
      return { ...lane, cards: renumber([...lane.cards.slice(0, index), card, ...lane.cards.slice(index)], lane.id) };
    }),
  };
}

/** Folds a live card event (from the board channel) into the board; unknown events change nothing. */
export function applyCardEvent(board: Board, event: CardEvent): Board {
  if (!("card_id" in event)) return board; // project.deleted names no card, and never reaches a board
  const existing = findCard(board, event.card_id)?.card;
  switch (event.type) {
    case "card.deleted":
    case "card.archived":
      return removeCard(board, event.card_id);
    case "card.created":
    case "card.updated":
    case "card.unarchived":
      return placeCard(board, fromSnapshot(board, event.card, existing), event.card.lane_id, event.card.position);
    case "card.moved":
      return placeCard(board, fromSnapshot(board, event.card, existing), event.to_lane_id, event.to_position);
    default:
      return board;
  }
}

/** What the board channel sends: card events, run changes, pings, and `resync` when the server may have missed
 * events (its listener reconnected, or an event was too large to send): the board must then be refetched. */
export type BoardMessage =
  | { type: "card"; event: CardEvent; partial?: boolean }
  | { type: "status"; card_id: string; run_id: string; status: string }
  | { type: "resync" }
  | NotificationFrame
  | { type: "ping" };

/** How the cached board follows a message: fold the card event in, refresh the card's runs, refetch, or nothing. */
export function boardReaction(message: BoardMessage): "fold" | "runs" | "refetch" | "none" {
  switch (message.type) {
    case "card":
      return "fold";
    case "status":
      return "runs";
    case "resync":
      return "refetch";
    default:
      return "none";
  }
}

/** Keyboard moves: the place one step left/right (across lanes) or up/down (within the lane). */
export function stepPlace(board: Board, cardId: string, direction: "left" | "right" | "up" | "down"): Place | null {
  const from = findCard(board, cardId);
  if (!from) return null;
  const laneIndex = board.lanes.findIndex((l) => l.id === from.lane.id);
  if (direction === "up" || direction === "down") {
    const index = from.index + (direction === "up" ? -1 : 1);
    if (index < 0 || index >= from.lane.cards.length) return null;
    return { laneId: from.lane.id, index };
  }
  const target = board.lanes[laneIndex + (direction === "left" ? -1 : 1)];
  if (!target) return null;
  return { laneId: target.id, index: Math.min(from.index, target.cards.length) };
}

/** The agents a lane runs when a card enters it, in the project's order. */
export function agentsOfLane(agents: AgentConfig[], laneNumber: number): AgentConfig[] {
  return agents.filter((agent) => agent.lanes.includes(laneNumber));
}
