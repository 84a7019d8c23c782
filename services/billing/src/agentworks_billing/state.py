"""What billing holds for its lifetime, and how its endpoints and tests read it."""

from __future__ import annotations

from dataclasses import dataclass

from agentworks_platform.app import ServiceContext, context_of, state_of
from agentworks_platform.internal_http import InternalClient
from agentworks_pubsub import Outbox, PullConsumer
from starlette.requests import HTTPConnection

from agentworks_billing.jobs import Jobs


@dataclass(frozen=True, slots=True)
class BillingState:
    """Billing's outbox, core's client, the jobs (ledger, accounts, periods, payments) and the consumer that
    pulls usage events."""

    outbox: Outbox
    core: InternalClient
    jobs: Jobs
    usage_consumer: PullConsumer


def billing_state(ctx: ServiceContext) -> BillingState:
    return state_of(ctx, BillingState)


def state_of_request(connection: HTTPConnection) -> BillingState:
    return billing_state(context_of(connection))


def jobs_of(connection: HTTPConnection) -> Jobs:
    """Read in the endpoint's body, after the caller is authorized (a refused caller never reaches the state)."""
    return state_of_request(connection).jobs
