"""The bounded tail of a command's output."""

from __future__ import annotations


class OutputTail:
    """Keeps the last ``limit`` bytes fed to it and whether anything before them was dropped."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._buffer = bytearray()
        self.truncated = False

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk
        excess = len(self._buffer) - self._limit
        if excess > 0:
            del self._buffer[:excess]
            self.truncated = True

    def text(self) -> str:
        # The cut may split a UTF-8 sequence, and output is model input: NUL becomes U+FFFD like all model text.
        return self._buffer.decode("utf-8", errors="replace").replace("\0", "\ufffd")
