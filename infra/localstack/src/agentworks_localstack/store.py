"""Durable state of the emulator in SQLite: topics, subscriptions, messages and per-subscription deliveries."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS subscriptions (name TEXT PRIMARY KEY, topic TEXT NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, data BLOB NOT NULL,
    attributes TEXT NOT NULL, ordering_key TEXT NOT NULL, publish_time REAL NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    subscription TEXT NOT NULL, message_id INTEGER NOT NULL, ordering_key TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL, lease_until REAL, ack_id TEXT,
    PRIMARY KEY (subscription, message_id));
CREATE INDEX IF NOT EXISTS ix_deliveries_due ON deliveries (subscription, next_at);
CREATE INDEX IF NOT EXISTS ix_deliveries_key ON deliveries (subscription, ordering_key, message_id);
CREATE UNIQUE INDEX IF NOT EXISTS ix_deliveries_ack ON deliveries (ack_id);
"""


_LEASE_SELECT = (
    "SELECT d.message_id, d.attempts, m.topic, m.data, m.attributes, m.ordering_key, m.publish_time "
    "FROM deliveries d JOIN messages m ON m.id = d.message_id "
    "WHERE d.subscription = ? AND d.next_at <= ? AND (d.lease_until IS NULL OR d.lease_until < ?) "
)
LEASE_UNORDERED = _LEASE_SELECT + "ORDER BY d.message_id LIMIT ?"
# With ordering, only the oldest undelivered message of each key is eligible (none overtakes it).
_HEAD_OF_KEY = (
    "AND (d.ordering_key = '' OR d.message_id = (SELECT MIN(h.message_id) FROM deliveries h "
    "WHERE h.subscription = d.subscription AND h.ordering_key = d.ordering_key)) "
)
LEASE_ORDERED = _LEASE_SELECT + _HEAD_OF_KEY + "ORDER BY d.message_id LIMIT ?"


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    topic: str
    data: bytes
    attributes: dict[str, str]
    ordering_key: str
    publish_time: float


@dataclass(frozen=True, slots=True)
class Lease:
    """A message handed out to a subscriber until ``lease_until``; ``attempt`` counts deliveries."""

    subscription: str
    message: StoredMessage
    attempt: int
    ack_id: str


class Store:
    """All state behind one SQLite connection (the emulator is single-process, single event loop)."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        # Leases held by a previous process are void: those messages are delivered again.
        self._db.execute("UPDATE deliveries SET lease_until = NULL, ack_id = NULL")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    # ---- topics and subscriptions (serialised protos) ----

    def put_topic(self, name: str, body: bytes, *, create: bool) -> bool:
        with self._tx() as db:
            exists = db.execute("SELECT 1 FROM topics WHERE name=?", (name,)).fetchone() is not None
            if create and exists:
                return False
            db.execute("INSERT OR REPLACE INTO topics(name, body) VALUES (?, ?)", (name, body))
            return True

    def topic(self, name: str) -> bytes | None:
        row = self._db.execute("SELECT body FROM topics WHERE name=?", (name,)).fetchone()
        return row[0] if row else None

    def topics(self, project_prefix: str) -> list[bytes]:
        rows = self._db.execute("SELECT body FROM topics WHERE name LIKE ? ORDER BY name", (project_prefix + "%",))
        return [r[0] for r in rows]

    def delete_topic(self, name: str) -> bool:
        with self._tx() as db:
            return db.execute("DELETE FROM topics WHERE name=?", (name,)).rowcount == 1

    def put_subscription(self, name: str, topic: str, body: bytes, *, create: bool) -> bool:
        with self._tx() as db:
            exists = db.execute("SELECT 1 FROM subscriptions WHERE name=?", (name,)).fetchone() is not None
            if create and exists:
                return False
            db.execute(
                "INSERT OR REPLACE INTO subscriptions(name, topic, body) VALUES (?, ?, ?)",
                (name, topic, body),
            )
            return True

    def subscription(self, name: str) -> bytes | None:
        row = self._db.execute("SELECT body FROM subscriptions WHERE name=?", (name,)).fetchone()
        return row[0] if row else None

    def subscriptions(self, project_prefix: str = "", topic: str | None = None) -> list[bytes]:
        if topic is not None:
            rows = self._db.execute("SELECT body FROM subscriptions WHERE topic=? ORDER BY name", (topic,))
        else:
            rows = self._db.execute(
                "SELECT body FROM subscriptions WHERE name LIKE ? ORDER BY name", (project_prefix + "%",)
            )
        return [r[0] for r in rows]

    def delete_subscription(self, name: str) -> bool:
        with self._tx() as db:
            db.execute("DELETE FROM deliveries WHERE subscription=?", (name,))
            return db.execute("DELETE FROM subscriptions WHERE name=?", (name,)).rowcount == 1

    # ---- messages ----

    def publish(
        self, topic: str, messages: list[tuple[bytes, dict[str, str], str]], targets: list[list[str]]
    ) -> list[int]:
        """Store messages and one pending delivery per (already filtered) target subscription."""
        now = time.time()
        ids: list[int] = []
        with self._tx() as db:
            for (data, attributes, key), subscriptions in zip(messages, targets, strict=True):
                cursor = db.execute(
                    "INSERT INTO messages(topic, data, attributes, ordering_key, publish_time) VALUES (?,?,?,?,?)",
                    (topic, data, json.dumps(attributes), key, now),
                )
                message_id = int(cursor.lastrowid or 0)
                ids.append(message_id)
                db.executemany(
                    "INSERT INTO deliveries(subscription, message_id, ordering_key, next_at) VALUES (?,?,?,?)",
                    [(s, message_id, key, now) for s in subscriptions],
                )
        return ids

    def lease(self, subscription: str, *, limit: int, lease_seconds: float, ordered: bool) -> list[Lease]:
        """Hand out due messages; with ordering, only the head of each key and only when none is in flight."""
        if limit <= 0:
            return []
        now = time.time()
        query = LEASE_ORDERED if ordered else LEASE_UNORDERED
        with self._tx() as db:
            rows = db.execute(query, (subscription, now, now, limit)).fetchall()
            leases = []
            for message_id, attempts, topic, data, attributes, key, published in rows:
                ack_id = f"{message_id}-{uuid.uuid4().hex}"
                db.execute(
                    "UPDATE deliveries SET attempts = ?, lease_until = ?, ack_id = ? "
                    "WHERE subscription = ? AND message_id = ?",
                    (attempts + 1, now + lease_seconds, ack_id, subscription, message_id),
                )
                message = StoredMessage(message_id, topic, data, json.loads(attributes), key, published)
                leases.append(Lease(subscription, message, attempts + 1, ack_id))
        return leases

    def ack(self, ack_ids: list[str]) -> int:
        with self._tx() as db:
            return sum(db.execute("DELETE FROM deliveries WHERE ack_id = ?", (a,)).rowcount for a in ack_ids)

    def extend(self, ack_ids: list[str], seconds: float) -> None:
        with self._tx() as db:
            for ack_id in ack_ids:
                db.execute("UPDATE deliveries SET lease_until = ? WHERE ack_id = ?", (time.time() + seconds, ack_id))

    def nack(self, ack_ids: list[str], retry_after: float) -> None:
        """Return leased messages for redelivery after ``retry_after`` seconds."""
        with self._tx() as db:
            for ack_id in ack_ids:
                db.execute(
                    "UPDATE deliveries SET lease_until = NULL, ack_id = NULL, next_at = ? WHERE ack_id = ?",
                    (time.time() + retry_after, ack_id),
                )

    def attempts_of(self, ack_id: str) -> int:
        row = self._db.execute("SELECT attempts FROM deliveries WHERE ack_id = ?", (ack_id,)).fetchone()
        return int(row[0]) if row else 0

    def next_due(self, subscription: str) -> float | None:
        row = self._db.execute(
            "SELECT MIN(CASE WHEN lease_until IS NULL OR lease_until < next_at THEN next_at ELSE lease_until END) "
            "FROM deliveries WHERE subscription = ?",
            (subscription,),
        ).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def backlog(self) -> dict[str, int]:
        rows = self._db.execute("SELECT subscription, COUNT(*) FROM deliveries GROUP BY subscription")
        return dict(rows.fetchall())

    def purge_orphans(self) -> int:
        with self._tx() as db:
            return db.execute("DELETE FROM messages WHERE id NOT IN (SELECT message_id FROM deliveries)").rowcount
