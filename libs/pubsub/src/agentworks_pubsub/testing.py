"""Test support: an in-memory message sink that records what a service would publish."""

from __future__ import annotations

from agentworks_events import Event, EventMessage, parse_event


class RecordingSink:
    """Collects published messages in order; ``failing`` makes every publish raise."""

    def __init__(self) -> None:
        self.published: list[tuple[str, EventMessage]] = []
        self.failing = False

    async def publish_message(self, topic: str, message: EventMessage) -> str:
        if self.failing:
            raise ConnectionError("pubsub unavailable")
        self.published.append((topic, message))
        return str(len(self.published))

    def event_ids(self) -> list[str]:
        return [m.attributes["event_id"] for _, m in self.published]

    def events(self) -> list[Event]:
        return [parse_event(topic, message.data) for topic, message in self.published]

    def types(self) -> list[str]:
        return [m.attributes["type"] for _, m in self.published]
