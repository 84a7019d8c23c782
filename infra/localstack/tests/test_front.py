"""The round-robin front hands each new connection to the next instance in turn, both ways."""

from __future__ import annotations

import asyncio

from agentworks_localstack.front import RoundRobinFront
from agentworks_localstack.threads import free_port


async def _echo_server(name: bytes) -> asyncio.Server:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(name + b":" + await reader.read(100))
        await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", 0)


async def _ask(port: int, question: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(question)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


async def test_connections_alternate_between_the_instances() -> None:
    servers = [await _echo_server(b"a"), await _echo_server(b"b")]
    front = RoundRobinFront("127.0.0.1", free_port(), [s.sockets[0].getsockname()[1] for s in servers])
    await front.start()
    try:
        answers = [await _ask(front.port, f"q{i}".encode()) for i in range(4)]
    finally:
        await front.stop()
        for server in servers:
            server.close()
    assert answers == [b"a:q0", b"b:q1", b"a:q2", b"b:q3"]
