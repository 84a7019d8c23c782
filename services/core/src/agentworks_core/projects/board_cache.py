"""Rendered boards kept in memory, each under the board revision it was read at."""

from __future__ import annotations

import uuid
from collections import OrderedDict


class BoardCache:
    """Least-recently-used board JSON bounded by total size. An entry serves only readers that see the same
    revision in their own transaction, so every instance of core may keep its own cache."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[uuid.UUID, tuple[int, bytes]] = OrderedDict()
        self._size = 0

    def get(self, board_id: uuid.UUID, revision: int) -> bytes | None:
        entry = self._entries.get(board_id)
        if entry is None or entry[0] != revision:
            return None
        self._entries.move_to_end(board_id)
        return entry[1]

    def put(self, board_id: uuid.UUID, revision: int, body: bytes) -> None:
        self._forget(board_id)
        if len(body) > self.max_bytes:
            return
        self._entries[board_id] = (revision, body)
        self._size += len(body)
        while self._size > self.max_bytes:
            self._forget(next(iter(self._entries)))

    @property
    def size(self) -> int:
        return self._size

    def _forget(self, board_id: uuid.UUID) -> None:
        entry = self._entries.pop(board_id, None)
        if entry is not None:
            self._size -= len(entry[1])
