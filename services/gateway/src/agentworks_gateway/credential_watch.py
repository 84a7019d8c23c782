"""WebSockets follow their credentials: a socket opened with an API key or a session is closed once that key or
session is revoked (or the session expires), on every gateway instance.

Each instance re-checks the credentials of its own open sockets against the shared gateway database every
``credential_check_seconds``: one query per instance and interval, whatever the number of sockets, and the same
on SQLite and PostgreSQL (no notification channel to lose; docs/decisions/0006).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from agentworks_platform.clock import utc_now
from agentworks_platform.db import Database
from agentworks_platform.logging import get_logger
from sqlalchemy.ext.asyncio import AsyncSession

from agentworks_gateway.apikeys import repository as api_keys
from agentworks_gateway.identity import repository as identity
from agentworks_gateway.security import Caller

log = get_logger(__name__)
Credential = tuple[str, uuid.UUID]


class CredentialWatch:
    """The credentials of this instance's open WebSockets, and the events that close each socket when its
    credential stops being valid."""

    def __init__(self, db: Database, interval_seconds: float) -> None:
        self._db = db
        self._interval = interval_seconds
        self._open: dict[Credential, set[asyncio.Event]] = {}

    @contextmanager
    def watching(self, caller: Caller) -> Iterator[asyncio.Event]:
        """An event set once ``caller``'s credential is revoked or expired, for as long as the socket is open."""
        credential = (caller.via, caller.credential_id)
        revoked = asyncio.Event()
        self._open.setdefault(credential, set()).add(revoked)
        try:
            yield revoked
        finally:
            sockets = self._open.get(credential, set())
            sockets.discard(revoked)
            if not sockets:
                self._open.pop(credential, None)

    async def run(self) -> None:
        """Check every interval for the service's lifetime; a failed check is logged and tried again."""
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.check()
            except Exception as exc:  # a database hiccup must not stop the watch
                log.warning("websocket.credential_check_failed", error=type(exc).__name__)

    async def check(self) -> None:
        """Set the event of every open socket whose credential is no longer valid."""
        if not self._open:
            return
        watched = list(self._open)
        async with self._db.transaction() as session:
            valid = await _valid_credentials(session, watched)
        for credential in watched:
            if credential not in valid:
                for revoked in self._open.pop(credential, set()):
                    revoked.set()


async def _valid_credentials(session: AsyncSession, credentials: list[Credential]) -> set[Credential]:
    keys = [credential_id for via, credential_id in credentials if via == "api_key"]
    sessions = [credential_id for via, credential_id in credentials if via == "session"]
    valid: set[Credential] = set()
    if keys:
        valid.update(("api_key", key) for key in await api_keys.unrevoked(session, keys))
    if sessions:
        valid.update(("session", row) for row in await identity.live_sessions(session, sessions, utc_now()))
    return valid
