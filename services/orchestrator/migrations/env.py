"""Alembic environment of the orchestrator service."""

from agentworks_platform.migrations import run_env

from agentworks_orchestrator.models import metadata

run_env(metadata)
