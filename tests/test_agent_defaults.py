"""Every agent's default model is one its provider still serves and the price table prices, and agents that run
together own different documents."""

from pathlib import Path

import pytest
import yaml
from agentworks_core.agents.registry import AGENTS, AgentSpec
from agentworks_orchestrator.config import TOOL_ROLES
from agentworks_orchestrator.runs.contract import CONTRACTS
from agentworks_orchestrator.runs.tools import calls_tools
from anthropic.resources.messages.messages import DEPRECATED_MODELS

PRICING = Path(__file__).resolve().parents[1] / "contracts" / "pricing.yaml"


def _priced() -> set[tuple[str, str]]:
    rows = yaml.safe_load(PRICING.read_text())["models"]
    return {(row["provider"], row["model"]) for row in rows}


@pytest.mark.parametrize("agent", AGENTS, ids=lambda agent: agent.key)
def test_an_agents_default_model_is_priced(agent: AgentSpec) -> None:
    assert (agent.provider, agent.model) in _priced()


@pytest.mark.parametrize("agent", [a for a in AGENTS if a.provider == "anthropic"], ids=lambda agent: agent.key)
def test_an_agents_default_claude_model_is_not_one_anthropic_retires(agent: AgentSpec) -> None:
    retired = DEPRECATED_MODELS.get(agent.model)
    assert retired is None, f"{agent.key} defaults to {agent.model}, which Anthropic retires on {retired}"


@pytest.mark.parametrize("lane", sorted({lane for agent in AGENTS for lane in agent.lanes}))
def test_agents_of_one_lane_write_different_documents(lane: int) -> None:
    """Two agents of a lane run at once on the card: sharing a document, the later would write over the other."""
    owners: dict[str, str] = {}
    for agent in (a for a in AGENTS if lane in a.lanes):
        for document in CONTRACTS[agent.key].documents:
            assert document not in owners, f"{agent.key} and {owners[document]} both write {document} in lane {lane}"
            owners[document] = agent.key


def test_the_designer_works_with_tools_by_default() -> None:
    """The Designer writes its brief with tools and draws through one: its default model must call tools."""
    [designer] = [agent for agent in AGENTS if agent.key == "designer"]
    assert calls_tools(designer.model), designer.model


def test_the_build_review_and_test_lanes_have_their_own_agents() -> None:
    """Developers build in lane 5, the Code reviewer reviews in lane 6, QA and the Troubleshooter test in 7."""
    lanes = {agent.key: agent.lanes for agent in AGENTS}
    assert (lanes["dev_backend"], lanes["dev_frontend"], lanes["reviewer"]) == ((5,), (5,), (6,))
    assert lanes["qa"] == lanes["troubleshooter"] == (7,)
    assert "reviewer" in TOOL_ROLES
