"""A round-robin front for a service run as several instances: each TCP connection it accepts goes to the next
instance in turn, as Cloud Run spreads a service's traffic (push deliveries included) over its instances."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Sequence

CHUNK_BYTES = 64 * 1024


class RoundRobinFront:
    """Listens on ``port`` and forwards each connection, both ways, to the next of ``backends`` (ports on the
    same host); a connection whose instance cannot be reached is closed, as a load balancer's would be."""

    def __init__(self, host: str, port: int, backends: Sequence[int]) -> None:
        self.host = host
        self.port = port
        self._next = itertools.cycle(backends)
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._forward, self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _forward(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            backend_reader, backend_writer = await asyncio.open_connection(self.host, next(self._next))
        except OSError:
            client_writer.close()
            return
        pipes = [
            asyncio.create_task(_pipe(client_reader, backend_writer)),
            asyncio.create_task(_pipe(backend_reader, client_writer)),
        ]
        self._pipes.update(pipes)
        try:
            await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            self._pipes.difference_update(pipes)
            for writer in (client_writer, backend_writer):
                writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until the reader ends, then half-close the writer so the other side sees the end too."""
    try:
        while chunk := await reader.read(CHUNK_BYTES):
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        with contextlib.suppress(Exception):
            writer.close()
