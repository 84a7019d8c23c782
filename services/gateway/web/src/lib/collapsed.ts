// Which lanes of a board are collapsed, kept per board in this browser.

import { useCallback, useState } from "react";

const key = (boardId: string) => `aw.collapsed.${boardId}`;

export function readCollapsed(boardId: string, storage: Pick<Storage, "getItem"> = localStorage): Set<string> {
  try {
    const saved: unknown = JSON.parse(storage.getItem(key(boardId)) ?? "[]");
    return new Set(Array.isArray(saved) ? saved.filter((id): id is string => typeof id === "string") : []);
  } catch {
    return new Set(); // a damaged entry collapses nothing
  }
}

/** The board's collapsed lanes and a toggle that remembers the change. */
export function useCollapsedLanes(boardId: string) {
  const [collapsed, setCollapsed] = useState(() => readCollapsed(boardId));
  const toggle = useCallback(
    (laneId: string) =>
      setCollapsed((current) => {
        const next = new Set(current);
        if (!next.delete(laneId)) next.add(laneId);
        localStorage.setItem(key(boardId), JSON.stringify([...next]));
        return next;
      }),
    [boardId],
  );
  return { collapsed, toggle };
}
