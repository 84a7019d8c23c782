"""Run the emulator or an ASGI app on a background thread (tests and benchmarks drive them from sync code)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import grpc
import uvicorn
from agentworks_platform.serve import EVENT_LOOP, WEBSOCKET_COMPRESSION
from agentworks_platform.service_auth import LocalTokenSigner

from agentworks_localstack.emulator import Emulator, serve

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LoopThread:
    """An asyncio loop on a daemon thread; ``call`` runs a coroutine there and waits for its result."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class EmulatorThread:
    """The Pub/Sub emulator on its own loop thread; ``host`` is what PUBSUB_EMULATOR_HOST should say."""

    def __init__(self, store: Path, signer: LocalTokenSigner | None, port: int = 0) -> None:
        self._store = store
        self._signer = signer
        self._port = port
        self._loop = LoopThread("pubsub-emulator")
        self.server: grpc.aio.Server | None = None
        self.emulator: Emulator | None = None

    def start(self) -> EmulatorThread:
        self.server, self.emulator = self._loop.call(serve(self._store, "127.0.0.1", self._port, self._signer))
        self._port = self.emulator.port
        return self

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._port}"

    def stop(self) -> None:
        if self.emulator and self.server:
            self._loop.call(self.emulator.stop())
            self._loop.call(self.server.stop(grace=0.5))
            self.emulator.store.close()
        self.server = self.emulator = None

    def close(self) -> None:
        self.stop()
        self._loop.close()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self._loop.call(coroutine)


class AppThread:
    """A uvicorn server for one ASGI app on a free port, with its lifespan, on a background thread."""

    def __init__(self, app: Any, port: int | None = None, ws: str = "auto") -> None:
        self.app = app
        self.port = port or free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
            proxy_headers=False,  # as in production: X-Forwarded-* are client-written
            lifespan="on",
            ws=ws,
            ws_per_message_deflate=WEBSOCKET_COMPRESSION,
            loop=EVENT_LOOP,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"app-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> AppThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"app on port {self.port} did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
