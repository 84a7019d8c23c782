"""In-process fan-out of terminal messages to every subscribed WebSocket, each with a bounded queue."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

DEFAULT_QUEUE = 1000


@dataclass(frozen=True, slots=True)
class Frame:
    """A message and its JSON text, encoded once for every client that receives it.

    For a ``lines`` message, ``lines_text`` is its lines' JSON without the brackets, so that frames queued
    for a client can be joined into one without encoding anything again."""

    message: dict[str, Any]
    text: str
    lines_text: str | None = None


def encode(message: dict[str, Any]) -> Frame:
    if message.get("type") == "lines":
        return Frame(message, json.dumps(message), json.dumps(message["lines"])[1:-1])
    return Frame(message, json.dumps(message))


@dataclass(eq=False)
class Subscriber:
    """One client's view: frames wait here until its socket takes them; a client that falls behind is marked
    and then cut, and a client that leaves is noticed at once.

    Waiting costs one future per wait, woken by whatever happens first (a frame, an overflow, the client
    leaving, the heartbeat interval): no task per frame, so fan-out to many sockets stays cheap."""

    limit: int = DEFAULT_QUEUE
    frames: deque[Frame] = field(default_factory=deque)
    overflowed: bool = False
    gone: int | None = None  # the close code once the client has left
    _waiter: asyncio.Future[None] | None = None

    def offer(self, frame: Frame) -> None:
        if self.overflowed:
            return
        if len(self.frames) >= self.limit:
            self.overflowed = True
        else:
            self.frames.append(frame)
        self._wake()

    def leave(self, code: int) -> None:
        self.gone = code
        self._wake()

    def take(self, most: int) -> list[Frame]:
        return [self.frames.popleft() for _ in range(min(most, len(self.frames)))]

    async def wait(self, quiet_after: float) -> bool:
        """Until there is news (a frame, an overflow, a departure); False after ``quiet_after`` seconds without."""
        if not self._has_news():
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            timer = loop.call_later(quiet_after, _settle, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
        return self._has_news()

    def _has_news(self) -> bool:
        return bool(self.frames) or self.overflowed or self.gone is not None

    def _wake(self) -> None:
        if self._waiter is not None:
            _settle(self._waiter)


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Hub:
    def __init__(self, queue_size: int = DEFAULT_QUEUE) -> None:
        self._queue_size = queue_size
        self._subscribers: dict[uuid.UUID, set[Subscriber]] = defaultdict(set)

    def subscribe(self, topic: uuid.UUID) -> Subscriber:
        subscriber = Subscriber(limit=self._queue_size)
        self._subscribers[topic].add(subscriber)
        return subscriber

    def attach(self, topic: uuid.UUID, subscriber: Subscriber) -> None:
        """Let an existing subscriber hear a second topic too (a board socket hears its person's notifications)."""
        self._subscribers[topic].add(subscriber)

    def unsubscribe(self, topic: uuid.UUID, subscriber: Subscriber) -> None:
        self._subscribers[topic].discard(subscriber)
        if not self._subscribers[topic]:
            del self._subscribers[topic]

    def publish(self, topic: uuid.UUID, message: dict[str, Any]) -> None:
        """Never blocks: a full queue marks its subscriber as overflowed instead of slowing everyone."""
        subscribers = self._subscribers.get(topic)
        if not subscribers:
            return
        frame = encode(message)
        for subscriber in list(subscribers):
            subscriber.offer(frame)

    def broadcast(self, message: dict[str, Any]) -> None:
        """Offer one message to every subscriber of every topic (a resync after the listener reconnects)."""
        frame = encode(message)
        for subscribers in list(self._subscribers.values()):
            for subscriber in list(subscribers):
                subscriber.offer(frame)

    def total(self) -> int:
        return sum(len(subscribers) for subscribers in self._subscribers.values())

    def count(self, topic: uuid.UUID) -> int:
        return len(self._subscribers.get(topic, ()))
