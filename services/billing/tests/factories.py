"""Usage events as the provider router and orchestrator publish them."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from agentworks_events import Event, UsageRecorded, UsageRunSettled, settlement_id_for
from agentworks_events.money import price_run

PROVIDERS = (("openai", "gpt-4o-mini"), ("anthropic", "claude-sonnet-4"), ("google", "gemini-2.5-pro"))
AGENTS = ("prd", "architect", "dev_backend", "qa")


def recorded(
    workspace: uuid.UUID,
    project: uuid.UUID,
    run: uuid.UUID,
    cost: Decimal,
    at: datetime,
    *,
    agent: str = "prd",
    card: uuid.UUID | None = None,
    provider: tuple[str, str] = PROVIDERS[0],
    tokens: tuple[int, int] = (1000, 500),
    images: int = 0,
) -> UsageRecorded:
    return UsageRecorded(
        workspace_id=workspace,
        project_id=project,
        run_id=run,
        card_id=card,
        agent=agent,
        provider=provider[0],
        model=provider[1],
        requested_provider=provider[0],
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        images=images,
        cost=cost,
        latency_ms=120,
        outcome="success",
        occurred_at=at,
    )


def settled(
    workspace: uuid.UUID,
    project: uuid.UUID,
    run: uuid.UUID,
    cost: Decimal,
    at: datetime,
    *,
    agent: str = "prd",
    card: uuid.UUID | None = None,
    calls: int = 1,
    markup: Decimal = Decimal(5),
    increment: Decimal = Decimal("0.25"),
) -> UsageRunSettled:
    priced = price_run(cost, markup, increment)
    return UsageRunSettled(
        id=settlement_id_for(run),
        workspace_id=workspace,
        project_id=project,
        run_id=run,
        card_id=card,
        agent=agent,
        run_status="completed",
        cost=cost,
        markup=priced.markup,
        increment=priced.increment,
        unrounded_amount=priced.unrounded,
        price=priced.price,
        provider_calls=calls,
        occurred_at=at,
    )


def usage_history(
    workspace: uuid.UUID, projects: list[uuid.UUID], start: datetime, days: int, seed: int = 7
) -> list[Event]:
    """A few runs a day for ``days`` days: 1–3 provider calls each, then the run's settlement."""
    rng = random.Random(seed)
    cards = [uuid.uuid4() for _ in range(6)]
    events: list[Event] = []
    for day in range(days):
        for _ in range(rng.randint(1, 4)):
            run, project, agent = uuid.uuid4(), rng.choice(projects), rng.choice(AGENTS)
            card = rng.choice(cards)
            at = start + timedelta(days=day, minutes=rng.randint(0, 1400))
            costs = [Decimal(rng.randint(1, 900_000)).scaleb(-7) for _ in range(rng.randint(1, 3))]
            for index, cost in enumerate(costs):
                tokens = (rng.randint(10, 9000), rng.randint(10, 4000))
                events.append(
                    recorded(
                        workspace,
                        project,
                        run,
                        cost,
                        at + timedelta(seconds=index),
                        agent=agent,
                        card=card,
                        provider=rng.choice(PROVIDERS),
                        tokens=tokens,
                        images=rng.choice((0, 0, 0, 1)),
                    )
                )
            events.append(
                settled(
                    workspace, project, run, sum(costs, Decimal(0)), at + timedelta(seconds=5), agent=agent, card=card,
                    calls=len(costs),
                )
            )  # fmt: skip
    return events
