"""AgentWorks event backbone on Google Cloud Pub/Sub."""

from agentworks_pubsub.outbox import Outbox, OutboxRelay
from agentworks_pubsub.publisher import EventPublisher, MessageSink
from agentworks_pubsub.pull import BatchHandler, Delivery, PullConsumer, Verdict
from agentworks_pubsub.receiver import (
    HandlerMap,
    PermanentEventError,
    PushMessage,
    PushReceiver,
    Worker,
    WorkerMap,
)
from agentworks_pubsub.tables import inbox_table, outbox_table
from agentworks_pubsub.topology import Subscription, Topology, TopologyError, load_topology

__all__ = [
    "BatchHandler",
    "Delivery",
    "EventPublisher",
    "HandlerMap",
    "MessageSink",
    "Outbox",
    "OutboxRelay",
    "PermanentEventError",
    "PullConsumer",
    "PushMessage",
    "PushReceiver",
    "Subscription",
    "Topology",
    "TopologyError",
    "Verdict",
    "Worker",
    "WorkerMap",
    "inbox_table",
    "load_topology",
    "outbox_table",
]
