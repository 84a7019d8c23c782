"""Alembic environment of the core service."""

from agentworks_platform.migrations import run_env

from agentworks_core.models import metadata

run_env(metadata)
