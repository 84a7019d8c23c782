import { useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { keys } from "../api/hooks";
import type { Board } from "../api/types";
import { receiveNotification } from "../notifications/inbox";
import { backoff, socketUrl } from "../terminal/resume";
import { applyCardEvent, type BoardMessage, boardReaction } from "./state";

/** Keeps the cached board live: card events fold in at once; run changes, resyncs and reconnects refetch. */
export function useLiveBoard(boardId: string | null | undefined, isDragging: () => boolean) {
  const client = useQueryClient();
  useEffect(() => {
    if (!boardId) return undefined;
    let socket: WebSocket | null = null;
    let attempt = 0;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let refresh: ReturnType<typeof setTimeout> | undefined;
    let settle: ReturnType<typeof setTimeout> | undefined;
    let disposed = false;
    const key = keys.board(boardId);

    const refetchSoon = () => {
      clearTimeout(refresh);
      refresh = setTimeout(() => {
        if (!isDragging()) void client.invalidateQueries({ queryKey: key });
      }, 300);
    };

    const onMessage = (message: BoardMessage) => {
      if (message.type === "notification") return receiveNotification(client, message); // this person's alone
      const reaction = boardReaction(message);
      if (reaction === "fold" && message.type === "card") {
        client.setQueryData<Board>(key, (board) => (board ? applyCardEvent(board, message.event) : board));
        refetchSoon();
      } else if (reaction === "runs" && message.type === "status") {
        void client.invalidateQueries({ queryKey: keys.cardRuns(message.card_id) });
        refetchSoon();
        // core records the run's end on its own subscription, possibly a moment later: look again
        clearTimeout(settle);
        settle = setTimeout(refetchSoon, 2000);
      } else if (reaction === "refetch") {
        refetchSoon();
      }
    };

    const connect = () => {
      socket = new WebSocket(socketUrl(window.location, `/api/boards/${boardId}/events`));
      socket.onopen = () => {
        if (attempt > 0) refetchSoon(); // events may have been missed while away
        attempt = 0;
      };
      socket.onmessage = (event) => onMessage(JSON.parse(String(event.data)) as BoardMessage);
      socket.onclose = (event) => {
        if (disposed || event.code === 4401 || event.code === 4404) return;
        retry = setTimeout(connect, backoff(attempt));
        attempt += 1;
      };
    };
    connect();
    return () => {
      disposed = true;
      clearTimeout(retry);
      clearTimeout(refresh);
      clearTimeout(settle);
      socket?.close(1000, "closed");
    };
  }, [boardId, client, isDragging]);
}
