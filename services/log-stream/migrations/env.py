"""Alembic environment of the log stream service."""

from agentworks_log_stream.models import metadata
from agentworks_platform.migrations import run_env

run_env(metadata)
