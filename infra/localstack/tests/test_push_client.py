from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import pytest
from agentworks_localstack.push_client import PushClient, PushFailedError
from agentworks_localstack.threads import free_port


class Endpoint:
    """A push endpoint on a raw socket: records each request and answers with ``reply(request_number)``."""

    def __init__(self, reply: Callable[[int], bytes]) -> None:
        self.reply = reply
        self.hang_up_after: set[int] = set()  # request numbers after whose answer the connection is dropped
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while line := await reader.readline():
                headers = {}
                while (header := (await reader.readline()).decode().strip()) != "":
                    name, _, value = header.partition(":")
                    headers[name.lower()] = value.strip()
                body = await reader.readexactly(int(headers["content-length"]))
                self.requests.append((line.decode().strip(), headers, body))
                answer = self.reply(self.count)
                if not answer:
                    break  # close without answering
                writer.write(answer)
                await writer.drain()
                if b"Connection: close" in answer or answer.startswith(b"HTTP/1.0") or self.count in self.hang_up_after:
                    break
        finally:
            writer.close()

    @property
    def count(self) -> int:
        return len(self.requests)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/_events/core-card-events?x=1"


@pytest.fixture
async def endpoint() -> AsyncIterator[Callable[[Callable[[int], bytes]], Endpoint]]:
    servers: list[asyncio.Server] = []

    async def start(reply: Callable[[int], bytes]) -> Endpoint:
        made = Endpoint(reply)
        made.server = await asyncio.start_server(made.serve, "127.0.0.1", 0)
        servers.append(made.server)
        return made

    yield start  # type: ignore[misc]
    for server in servers:
        server.close()


NO_CONTENT = b"HTTP/1.1 204 No Content\r\ndate: now\r\n\r\n"


async def _started(endpoint: Callable[..., object], reply: Callable[[int], bytes]) -> Endpoint:
    made = await endpoint(reply)  # type: ignore[misc]
    assert isinstance(made, Endpoint)
    return made


async def test_pushes_reuse_one_connection_and_carry_the_body_and_headers(endpoint: object) -> None:
    unavailable = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy"
    made = await _started(endpoint, lambda n: NO_CONTENT if n % 2 else unavailable)  # type: ignore[arg-type]
    client = PushClient()
    body = json.dumps({"message": {"data": "e30="}}).encode()
    statuses = [await client.post(made.url, body, {"Authorization": "Bearer t"}, answer_within=5) for _ in range(4)]
    await client.aclose()
    assert statuses == [204, 503, 204, 503]
    assert made.connections == 1  # each answer's body was read, so the connection went on serving
    line, headers, received = made.requests[0]
    assert line == "POST /_events/core-card-events?x=1 HTTP/1.1"
    assert (headers["authorization"], headers["host"], received) == ("Bearer t", made.url.split("/")[2], body)


async def test_a_kept_alive_connection_the_endpoint_dropped_is_replaced(endpoint: object) -> None:
    made = await _started(endpoint, lambda _n: NO_CONTENT)  # type: ignore[arg-type]
    made.hang_up_after = {1}
    client = PushClient()
    statuses = [await client.post(made.url, b"{}", {}, answer_within=5) for _ in range(3)]
    await client.aclose()
    assert statuses == [204, 204, 204]
    assert (made.connections, made.count) == (2, 3)


async def test_chunked_and_close_delimited_answers_are_read(endpoint: object) -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbusy\r\n0\r\n\r\n"
    until_close = b"HTTP/1.0 200 OK\r\n\r\nthe end"
    made = await _started(endpoint, lambda n: chunked if n == 1 else until_close)  # type: ignore[arg-type]
    client = PushClient()
    first = await client.post(made.url, b"{}", {}, answer_within=5)
    second = await client.post(made.url, b"{}", {}, answer_within=5)
    third = await client.post(made.url, b"{}", {}, answer_within=5)
    await client.aclose()
    assert (first, second, third) == (200, 200, 200)
    assert made.connections == 2  # the close-delimited answer ended its connection


async def test_an_endpoint_that_hangs_up_or_is_silent_or_absent_fails_the_push(endpoint: object) -> None:
    hangs_up = await _started(endpoint, lambda _n: b"")  # type: ignore[arg-type]
    silent = await _started(endpoint, lambda _n: b"HTTP/1.1 204 No Content\r\n")  # type: ignore[arg-type]
    client = PushClient()
    with pytest.raises(PushFailedError, match="IncompleteReadError"):
        await client.post(hangs_up.url, b"{}", {}, answer_within=5)
    with pytest.raises(PushFailedError, match="TimeoutError"):
        await client.post(silent.url, b"{}", {}, answer_within=0.2)
    with pytest.raises(PushFailedError, match="ConnectionRefusedError"):
        await client.post(f"http://127.0.0.1:{free_port()}/push", b"{}", {}, answer_within=5)
    with pytest.raises(PushFailedError, match="not an http"):
        await client.post("ftp://example.com/push", b"{}", {}, answer_within=5)
    await client.aclose()
