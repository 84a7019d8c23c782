"""Create the topology's topics and subscriptions through the public Pub/Sub API (emulator or real)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from agentworks_platform.logging import get_logger
from agentworks_pubsub.topology import Subscription, Topology
from google.api_core.exceptions import AlreadyExists
from google.cloud import pubsub_v1  # type: ignore[attr-defined]
from google.pubsub_v1 import types

log = get_logger(__name__)


def subscription_request(
    project: str, sub: Subscription, base_urls: Mapping[str, str], push_email: str
) -> types.Subscription:
    """The Subscription resource for one topology entry (push endpoints resolved from ``base_urls``)."""
    request = types.Subscription(
        name=f"projects/{project}/subscriptions/{sub.name}",
        topic=f"projects/{project}/topics/{sub.topic}",
        ack_deadline_seconds=sub.ack_deadline_seconds,
        enable_message_ordering=sub.enable_message_ordering,
        filter=sub.filter,
        message_retention_duration=timedelta(days=sub.message_retention_days),
        retry_policy=types.RetryPolicy(
            minimum_backoff=timedelta(seconds=sub.retry.minimum_backoff_seconds),
            maximum_backoff=timedelta(seconds=sub.retry.maximum_backoff_seconds),
        ),
    )
    if sub.dead_letter_topic:
        request.dead_letter_policy = types.DeadLetterPolicy(
            dead_letter_topic=f"projects/{project}/topics/{sub.dead_letter_topic}",
            max_delivery_attempts=sub.max_delivery_attempts or 5,
        )
    if sub.is_push and sub.subscriber:
        base = base_urls[sub.subscriber].rstrip("/")
        request.push_config = types.PushConfig(
            push_endpoint=f"{base}{sub.push_path}",
            oidc_token=types.PushConfig.OidcToken(service_account_email=push_email, audience=base),
        )
    return request


def bootstrap(
    topology: Topology,
    project: str,
    base_urls: Mapping[str, str],
    push_email: str,
    *,
    publisher: pubsub_v1.PublisherClient | None = None,
    subscriber: pubsub_v1.SubscriberClient | None = None,
) -> list[str]:
    """Create whatever is missing and re-point push configs that changed; other settings of existing
    resources are left as they are. Returns what was created or re-pointed."""
    publisher = publisher or pubsub_v1.PublisherClient()
    subscriber = subscriber or pubsub_v1.SubscriberClient()
    created: list[str] = []
    for topic in topology.topics:
        try:
            publisher.create_topic(request={"name": publisher.topic_path(project, topic.name)})
            created.append(f"topic {topic.name}")
        except AlreadyExists:
            pass
    for sub in topology.subscriptions:
        request = subscription_request(project, sub, base_urls, push_email)
        try:
            subscriber.create_subscription(request=request)
            created.append(f"subscription {sub.name}")
        except AlreadyExists:
            if _repoint(subscriber, request):
                created.append(f"push config of {sub.name}")
    log.info("topology.bootstrapped", project=project, created=len(created))
    return created


def _repoint(subscriber: pubsub_v1.SubscriberClient, wanted: types.Subscription) -> bool:
    """Give an existing subscription the push config the topology asks for (turned from push to pull, or a
    service moved); its messages stay where they are. True when it changed."""
    existing = subscriber.get_subscription(request={"subscription": wanted.name})
    if existing.push_config.push_endpoint == wanted.push_config.push_endpoint:
        return False
    subscriber.modify_push_config(request={"subscription": wanted.name, "push_config": wanted.push_config})
    return True
