"""Alembic environment of the provider router service."""

from agentworks_platform.migrations import run_env
from agentworks_provider_router.models import metadata

run_env(metadata)
