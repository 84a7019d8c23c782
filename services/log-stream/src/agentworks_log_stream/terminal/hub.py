"""In-process fan-out of terminal messages to every subscribed WebSocket, each with a bounded queue."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
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
    """One client's view: frames queue here; a client that falls behind is marked and then cut."""

    queue: asyncio.Queue[Frame] = field(default_factory=lambda: asyncio.Queue(DEFAULT_QUEUE))
    overflowed: bool = False
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)


class Hub:
    def __init__(self, queue_size: int = DEFAULT_QUEUE) -> None:
        self._queue_size = queue_size
        self._subscribers: dict[uuid.UUID, set[Subscriber]] = defaultdict(set)

    def subscribe(self, topic: uuid.UUID) -> Subscriber:
        subscriber = Subscriber(queue=asyncio.Queue(self._queue_size))
        self._subscribers[topic].add(subscriber)
        return subscriber

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
            if subscriber.overflowed:
                continue
            try:
                subscriber.queue.put_nowait(frame)
            except asyncio.QueueFull:
                subscriber.overflowed = True
                subscriber.wakeup.set()

    def count(self, topic: uuid.UUID) -> int:
        return len(self._subscribers.get(topic, ()))
