"""Alembic environment of the core service."""

from agentworks_core.models import metadata
from agentworks_platform.migrations import run_env

run_env(metadata)
