"""The agent registry: the seed's AGENTS plus the Designer and the Code reviewer, with their lanes and default
models."""

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
        (5,),
        "anthropic",
        "claude-sonnet-4-6",
        "Implements the backend work on the card's branch, with tests.",
    ),
    AgentSpec(
        "dev_frontend",
        "Frontend developer",
        (5,),
        "anthropic",
        "claude-sonnet-4-6",
        "Implements the frontend work on the card's branch, with tests.",
    ),
    # Another family of model than the developers', so a review does not share the author's blind spots.
    AgentSpec(
        "reviewer",
        "Code reviewer",
        (6,),
        "openai",
        "gpt-5",
        "Reads the card's diff and approves it or requests changes.",
    ),
    AgentSpec(
        "qa",
        "QA",
        (7,),
        "anthropic",
        "claude-sonnet-4-6",
        "Runs the tests on the card's branch and reports pass or fail with the evidence.",
    ),
    AgentSpec(
        "troubleshooter",
        "Troubleshooter",
        (7,),
        "google",
        "gemini-2.5-pro",
        "Diagnoses the failures found in test from the failing output and the diff.",
    ),
)
BY_KEY = {agent.key: agent for agent in AGENTS}
