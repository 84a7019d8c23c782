"""Alembic environment of the orchestrator service."""

from agentworks_orchestrator.models import metadata
from agentworks_platform.migrations import run_env

run_env(metadata)
