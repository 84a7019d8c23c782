"""Alembic environment of the gateway service."""

from agentworks_platform.migrations import run_env

from agentworks_gateway.models import metadata

run_env(metadata)
