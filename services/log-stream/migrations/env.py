"""Alembic environment of the log stream service."""

from agentworks_platform.migrations import run_env

from agentworks_log_stream.models import metadata

run_env(metadata)
