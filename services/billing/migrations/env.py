"""Alembic environment of the billing service."""

from agentworks_billing.models import metadata
from agentworks_platform.migrations import run_env

run_env(metadata)
