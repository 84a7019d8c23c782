"""The single loader of ``contracts/topology.yaml``: topics, push and pull subscriptions, and dead letters."""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

NAME = r"^[a-z][a-z0-9-]{2,62}$"
DEFAULT_PATH = Path(__file__).resolve().parents[4] / "contracts" / "topology.yaml"


class TopologyError(ValueError):
    """The topology file is missing, not YAML, or not a consistent topology."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Retry(_Strict):
    minimum_backoff_seconds: Annotated[float, Field(ge=0, le=600)] = 10
    maximum_backoff_seconds: Annotated[float, Field(ge=0, le=600)] = 600

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.minimum_backoff_seconds > self.maximum_backoff_seconds:
            raise ValueError("minimum_backoff_seconds must not exceed maximum_backoff_seconds")
        return self


class Topic(_Strict):
    name: Annotated[str, Field(pattern=NAME)]
    description: str = ""
    dead_letter: bool = Field(default=False, description="True for a dead-letter topic.")
    publishers: tuple[str, ...] = Field(default=(), description="Services granted publish on it (Terraform).")


class Subscription(_Strict):
    """A subscription of ``subscriber``: pushed to it at ``push_path``, or pulled by it in batches without one.

    A subscription with no subscriber is read by operators (dead letters)."""

    name: Annotated[str, Field(pattern=NAME)]
    topic: str
    subscriber: str | None = None
    push_path: Annotated[str, Field(pattern=r"^/_events/[a-z0-9-]+$")] | None = None
    ack_deadline_seconds: Annotated[int, Field(ge=10, le=600)] = 60
    retry: Retry = Retry()
    max_delivery_attempts: Annotated[int, Field(ge=5, le=100)] | None = None
    dead_letter_topic: str | None = None
    enable_message_ordering: bool = False
    filter: str = ""
    message_retention_days: Annotated[int, Field(ge=1, le=31)] = 7
    description: str = ""

    @property
    def is_push(self) -> bool:
        return self.push_path is not None

    @property
    def is_pull(self) -> bool:
        return self.subscriber is not None and self.push_path is None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.push_path is not None and self.subscriber is None:
            raise ValueError(f"subscription {self.name}: a push_path needs a subscriber")
        if (self.dead_letter_topic is None) != (self.max_delivery_attempts is None):
            raise ValueError(f"subscription {self.name}: dead_letter_topic and max_delivery_attempts go together")
        return self


class Topology(_Strict):
    """Validated topology. Every subscription of a service dead-letters to a topic that has a subscription."""

    project: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{3,29}$")]
    topics: tuple[Topic, ...]
    subscriptions: tuple[Subscription, ...]

    @model_validator(mode="after")
    def _references(self) -> Self:
        topic_names = [t.name for t in self.topics]
        sub_names = [s.name for s in self.subscriptions]
        for label, names in (("topic", topic_names), ("subscription", sub_names)):
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"duplicate {label} names: {', '.join(duplicates)}")
        dead_letters = {t.name for t in self.topics if t.dead_letter}
        for sub in self.subscriptions:
            if sub.topic not in topic_names:
                raise ValueError(f"subscription {sub.name}: unknown topic {sub.topic!r}")
            if sub.subscriber is not None and sub.dead_letter_topic is None:
                raise ValueError(f"subscription {sub.name} of {sub.subscriber} needs a dead_letter_topic")
            if sub.dead_letter_topic is not None and sub.dead_letter_topic not in dead_letters:
                raise ValueError(f"subscription {sub.name}: {sub.dead_letter_topic!r} is not a dead-letter topic")
        subscribed = {s.topic for s in self.subscriptions}
        for topic in dead_letters - subscribed:
            raise ValueError(f"dead-letter topic {topic} has no subscription; its messages would be lost")
        paths = [(s.subscriber, s.push_path) for s in self.subscriptions if s.is_push]
        if len(paths) != len(set(paths)):
            raise ValueError("two push subscriptions share a subscriber and push_path")
        return self

    @cached_property
    def by_name(self) -> dict[str, Subscription]:
        return {s.name: s for s in self.subscriptions}

    def subscription(self, name: str) -> Subscription:
        try:
            return self.by_name[name]
        except KeyError:
            raise TopologyError(f"no subscription named {name!r}") from None

    def push_subscriptions(self, subscriber: str | None = None) -> list[Subscription]:
        return [s for s in self.subscriptions if s.is_push and subscriber in (None, s.subscriber)]

    def pull_subscriptions(self, subscriber: str | None = None) -> list[Subscription]:
        return [s for s in self.subscriptions if s.is_pull and subscriber in (None, s.subscriber)]

    def event_topics(self) -> list[Topic]:
        return [t for t in self.topics if not t.dead_letter]


def parse_topology(text: str, source: str = "<string>") -> Topology:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TopologyError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise TopologyError(f"{source}: expected a mapping at the top level")
    try:
        return Topology.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'topology'}: {_clean(e['msg'])}"
            for e in exc.errors(include_url=False)
        )
        raise TopologyError(f"{source}: invalid topology: {problems}") from None


def _clean(message: str) -> str:
    return re.sub(r"^Value error, ", "", message)


def load_topology(path: Path | str | None = None) -> Topology:
    """Load and validate the topology: ``path``, else ``$AW_TOPOLOGY_FILE``, else ``contracts/topology.yaml``."""
    file = Path(path or os.environ.get("AW_TOPOLOGY_FILE") or DEFAULT_PATH)
    try:
        text = file.read_text()
    except OSError as exc:
        raise TopologyError(f"cannot read topology {file}: {exc.strerror}") from None
    return parse_topology(text, str(file))
