// Opening and closing a card moves the address (address.ts): opening from the board adds one history entry, so
// the back button closes the card; opening another card while one is open replaces that entry.

import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { useLocation, useNavigate, useParams } from "react-router";
import { api, ApiError } from "../api/client";
import { keys } from "../api/hooks";
import type { Board, Card } from "../api/types";
import { boardPath, cardPath, findOnBoard, isCanonical, openedCardRef, refText, type CardRef } from "./address";

interface OpenedFromBoard {
  fromBoard?: boolean;
}

export function useCardNavigation(workspaceId: string, projectId: string) {
  const navigate = useNavigate();
  const location = useLocation();
  const { cardRef } = useParams();
  const search = new URLSearchParams(location.search);
  const cardOpen = openedCardRef(cardRef, search) !== null;
  const fromBoard = (location.state as OpenedFromBoard | null)?.fromBoard === true;
  return {
    /** Opens the card with this short id, keeping the board's filters. */
    open(shortId: string) {
      const state: OpenedFromBoard = { fromBoard: cardOpen ? fromBoard : true };
      void navigate(cardPath(workspaceId, projectId, shortId, search), { replace: cardOpen, state });
    },
    /** Closes the open card: back to the entry it was opened from, or on to the board for a card linked to. */
    close() {
      if (fromBoard) void navigate(-1);
      else void navigate(boardPath(workspaceId, projectId, search));
    },
    /** Leaves a card that no longer exists, without a history entry to come back to it. */
    leave() {
      void navigate(boardPath(workspaceId, projectId, search), { replace: true });
    },
  };
}

/** What the address's card turned out to be. */
export type OpenedCard =
  | { state: "none" }
  | { state: "loading"; ref: CardRef }
  | { state: "found"; ref: CardRef; cardId: string }
  | { state: "missing"; ref: CardRef }
  | { state: "failed"; ref: CardRef; error: unknown; retry: () => void };

/** The card the address names: looked up on the board first, else asked of core (an archived card, a card of
 * another project, an id); an id or another project's card is redirected to its short id's address. */
export function useOpenedCard(board: Board, workspaceId: string, projectId: string): OpenedCard {
  const navigate = useNavigate();
  const location = useLocation();
  const { cardRef } = useParams();
  const search = new URLSearchParams(location.search);
  const ref = openedCardRef(cardRef, search);
  const onBoard = ref ? findOnBoard(board, ref) : undefined;
  const text = ref ? refText(ref) : "";
  const lookup = useQuery({
    queryKey: keys.cardByRef(workspaceId, text),
    queryFn: () => api<Card>(ref?.kind === "short" ? `/api/workspaces/${workspaceId}/cards/${ref.shortId}` : `/api/cards/${text}`),
    enabled: ref !== null && ref.kind !== "unknown" && onBoard === undefined,
    retry: false,
  });
  // A card that leaves the board while open (archived) keeps its drawer while core is asked where it went.
  const known = useRef(new Map<string, string>());
  const card = onBoard ?? lookup.data;
  if (card) known.current.set(text, card.id);

  const target = card && ref && (card.project_id !== projectId || !isCanonical(ref, card)) ? cardPath(workspaceId, card.project_id, card.human_id, search) : null;
  useEffect(() => {
    if (target) void navigate(target, { replace: true, state: location.state as unknown });
  }, [target, navigate, location.state]);

  if (!ref) return { state: "none" };
  if (ref.kind === "unknown") return { state: "missing", ref };
  const cardId = known.current.get(text);
  const gone = lookup.error instanceof ApiError && (lookup.error.status === 404 || lookup.error.status === 403);
  if (gone) return { state: "missing", ref };
  if (cardId && !target) return { state: "found", ref, cardId };
  if (lookup.error) return { state: "failed", ref, error: lookup.error, retry: () => void lookup.refetch() };
  return { state: "loading", ref };
}
