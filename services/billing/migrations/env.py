"""Alembic environment of the billing service."""

from agentworks_platform.migrations import run_env

from agentworks_billing.models import metadata

run_env(metadata)
