// Where an open card lives in the page's address: `/w/<workspace>/p/<project>/cards/SHOP-42`, beside the board's
// filters in the query. A card's id (the path's or an older link's `?card=<id>`) is still understood, and is
// replaced by its short id once the card is known. Pure, so the address round trip is tested without a browser.

import type { Board, Card } from "../api/types";

/** The short id core gives each card: its project's key and its number there (`SHOP-42`, any case). */
const SHORT_ID = /^[A-Za-z][A-Za-z0-9]{0,9}-[1-9][0-9]{0,8}$/;
const CARD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The query parameter older links name a card by its id with. */
export const LEGACY_CARD_PARAM = "card";

/** What the address says the open card is. */
export type CardRef =
  | { kind: "short"; shortId: string; legacy: boolean }
  | { kind: "id"; id: string; legacy: boolean }
  | { kind: "unknown"; text: string; legacy: boolean };

export function parseCardRef(text: string, legacy = false): CardRef {
  const trimmed = text.trim();
  if (SHORT_ID.test(trimmed)) return { kind: "short", shortId: trimmed.toUpperCase(), legacy };
  if (CARD_ID.test(trimmed)) return { kind: "id", id: trimmed.toLowerCase(), legacy };
  return { kind: "unknown", text: trimmed, legacy };
}

/** The open card: the path's `cards/<ref>` first, else an older link's `?card=`; null when none is open. */
export function openedCardRef(pathRef: string | undefined, search: URLSearchParams): CardRef | null {
  if (pathRef !== undefined) return parseCardRef(pathRef);
  const legacy = search.get(LEGACY_CARD_PARAM);
  return legacy === null ? null : parseCardRef(legacy, true);
}

/** How a ref is written: the text a lookup of it is cached under and a "no such card" note shows. */
export function refText(ref: CardRef): string {
  return ref.kind === "short" ? ref.shortId : ref.kind === "id" ? ref.id : ref.text;
}

/** The card on the board the ref names, if it is there (an archived card is not). */
export function findOnBoard(board: Board, ref: CardRef): Card | undefined {
  if (ref.kind === "unknown") return undefined;
  for (const lane of board.lanes) {
    const card = lane.cards.find((c) => (ref.kind === "short" ? c.human_id.toUpperCase() === ref.shortId : c.id === ref.id));
    if (card) return card;
  }
  return undefined;
}

/** Whether the address names the card in its final form: its short id, as core writes it, in the path. */
export function isCanonical(ref: CardRef, card: Pick<Card, "human_id">): boolean {
  return ref.kind === "short" && !ref.legacy && ref.shortId === card.human_id;
}

function withQuery(path: string, search: URLSearchParams | undefined): string {
  const kept = new URLSearchParams(search);
  kept.delete(LEGACY_CARD_PARAM);
  const query = kept.toString();
  return query ? `${path}?${query}` : path;
}

/** The board's address, keeping its filters. */
export function boardPath(workspaceId: string, projectId: string, search?: URLSearchParams): string {
  return withQuery(`/w/${workspaceId}/p/${projectId}/board`, search);
}

/** A card's address by its short id, keeping the board's filters. */
export function cardPath(workspaceId: string, projectId: string, shortId: string, search?: URLSearchParams): string {
  return withQuery(`/w/${workspaceId}/p/${projectId}/cards/${encodeURIComponent(shortId)}`, search);
}
