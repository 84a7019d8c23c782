"""Tool-using runs against the router's wire fakes of OpenAI, Anthropic and Gemini: several steps, parallel
calls, a tool error the model recovers from, and the cost limit."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from agentworks_localstack.threads import AppThread
from agentworks_orchestrator.config import RunLimits

from .conftest import RunStack

ROUTER_TESTS = Path(__file__).resolve().parents[1] / "services" / "provider-router" / "tests"
PROVIDER_KEY = "sk-test-provider-key-123456"


def _router_fakes() -> ModuleType:
    """The provider router's wire fakes (its tests' package, which is not installed)."""
    if "router_wire_fakes" not in sys.modules:
        package = ModuleType("router_wire_fakes")
        package.__path__ = [str(ROUTER_TESTS)]
        sys.modules["router_wire_fakes"] = package
    return importlib.import_module("router_wire_fakes.fakes")


fakes = _router_fakes()
# The services' storage is proven on both backends by their own suites; this is about the loop and the wire.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture(scope="module")
def fake() -> Iterator[Any]:
    provider = fakes.ProviderFake()
    thread = AppThread(provider.app).start()
    provider.base_url = thread.url
    yield provider
    thread.stop()


async def _stack_on(
    fake: Any, make_run_stack: Any, exits: AsyncExitStack, agent: tuple[str, str], **overrides: Any
) -> RunStack:
    base = fake.base_url
    router = {"openai_base_url": f"{base}/v1", "anthropic_base_url": base, "google_base_url": base}
    stack: RunStack = await make_run_stack(exits, tool_roles=frozenset({"prd"}), router_settings=router, **overrides)
    provider, model = agent
    body = {"provider": provider, "model": model, "enabled": True}
    await stack.core_call("PUT", f"/api/projects/{stack.ids['project']}/agents/prd", body)
    fake.reset()
    return stack


@pytest.fixture(autouse=True)
def provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.setenv(variable, PROVIDER_KEY)


PROVIDERS = [
    pytest.param("openai", ("openai", "gpt-5"), id="openai"),
    pytest.param("anthropic", ("anthropic", "claude-3-5-sonnet"), id="anthropic"),
    pytest.param("gemini", ("google", "gemini-2.5-pro"), id="gemini"),
]


@pytest.mark.parametrize(("api", "agent"), PROVIDERS)
async def test_a_run_goes_through_several_steps_with_parallel_calls_and_recovers_from_a_tool_error(
    fake: Any, make_run_stack: Any, api: str, agent: tuple[str, str]
) -> None:
    async with AsyncExitStack() as exits:
        stack = await _stack_on(fake, make_run_stack, exits, agent)
        document = {"name": "prd", "title": "PRD", "content": "# PRD\n\nCheckout in one page."}
        fake.script(
            api,
            fakes.scripted_calls(("read_card", {}), ("write_document", {"name": "prd"})),
            fakes.scripted_calls(("write_document", document), ("comment", {"body": "Drafted."})),
            "ok",
        )
        assert (await stack.push(stack.moved(to_lane=1))).status_code == 204
        assert fake.rejections[api] == []  # every request the loop sent is one the real API accepts
        first, second, last = stack.events("agent.run.step")
        assert [(c.tool, c.ok) for c in first.tool_calls] == [("read_card", True), ("write_document", False)]
        assert "Checkout" in first.tool_calls[0].result
        failed = first.tool_calls[1]
        assert failed.error is not None
        assert "title: Field required" in failed.error
        assert first.effects == ()
        assert [e.kind for e in second.effects] == ["document.write", "card.comment"]
        assert second.effects[0].content == document["content"]
        assert (last.tool_calls, last.text) == ((), "Hello from the fake provider.")
        # The error reached the model in the provider's own format, with the call it answers.
        assert "title: Field required" in str(fake.requests[api][1])
        [completed] = stack.events("agent.run.completed")
        assert (completed.steps, completed.stopped_at_limit, completed.provider) == (3, None, agent[0])
        usage = [e for e in stack.router_sink.events() if e.type == "usage.recorded"]
        [settled] = stack.events("usage.run_settled")
        assert settled.provider_calls == len(usage) == 3
        assert settled.cost == sum((u.cost for u in usage), Decimal(0)) > 0
        assert last.cost == settled.cost


async def test_a_run_stops_at_its_cost_limit(fake: Any, make_run_stack: Any) -> None:
    async with AsyncExitStack() as exits:
        limits = {"prd": RunLimits(max_cost=Decimal("0.001"))}
        stack = await _stack_on(fake, make_run_stack, exits, ("openai", "gpt-5"), role_limits=limits)
        fake.script("openai", *[fakes.scripted_calls(("read_card", {}))] * 5)
        assert (await stack.push(stack.moved(to_lane=1))).status_code == 204
        [completed] = stack.events("agent.run.completed")
        assert (completed.stopped_at_limit, completed.steps) == ("cost", 1)
        assert "$0.001" in completed.artifacts.summary
        assert len(fake.requests["openai"]) == 1
