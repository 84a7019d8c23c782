"""The agent registry: the seed's AGENTS plus the Designer, with their lanes and default models."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AgentSpec:
    key: str
    display_name: str
    lanes: tuple[int, ...]
    provider: str
    model: str
    description: str


AGENTS: tuple[AgentSpec, ...] = (
    AgentSpec(
        "ceo_copilot",
        "CEO CoPilot",
        (0,),
        "openai",
        "gpt-5",
        "Answers project-level questions and sharpens the vision.",
    ),
    AgentSpec("strategy", "Strategy", (0,), "openai", "gpt-5", "Turns the vision into a strategy and blueprint."),
    AgentSpec("prd", "PRD", (1,), "openai", "gpt-5", "Writes the product requirements document."),
    AgentSpec(
        "designer",
        "Designer",
        (2,),
        "google",
        "gemini-2.5-flash",
        "Writes the design brief and generates UI concepts with the image model (Nano Banana).",
    ),
    AgentSpec(
        "architect",
        "Architect",
        (3,),
        "anthropic",
        "claude-sonnet-4-6",
        "Designs the architecture and creates child task cards.",
    ),
    AgentSpec(
        "dev_backend",
        "Backend developer",
        (5, 6),
        "anthropic",
        "claude-sonnet-4-6",
        "Implements and reviews backend work.",
    ),
    AgentSpec(
        "dev_frontend",
        "Frontend developer",
        (5, 6),
        "anthropic",
        "claude-sonnet-4-6",
        "Implements and reviews frontend work.",
    ),
    AgentSpec("qa", "QA", (7,), "anthropic", "claude-sonnet-4-6", "Writes and runs the test plan."),
    AgentSpec(
        "troubleshooter", "Troubleshooter", (7,), "google", "gemini-2.5-pro", "Diagnoses failures found in test."
    ),
)
BY_KEY = {agent.key: agent for agent in AGENTS}
