"""Alembic environment of the gateway service."""

from agentworks_gateway.models import metadata
from agentworks_platform.migrations import run_env

run_env(metadata)
