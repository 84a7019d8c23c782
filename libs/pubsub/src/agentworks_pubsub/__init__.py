"""AgentWorks event backbone on Google Cloud Pub/Sub."""

from agentworks_pubsub.outbox import Outbox, OutboxRelay
from agentworks_pubsub.publisher import EventPublisher, MessageSink
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
    "EventPublisher",
    "HandlerMap",
    "MessageSink",
    "Outbox",
    "OutboxRelay",
    "PermanentEventError",
    "PushMessage",
    "PushReceiver",
    "Subscription",
    "Topology",
    "TopologyError",
    "Worker",
    "WorkerMap",
    "inbox_table",
    "load_topology",
    "outbox_table",
]
