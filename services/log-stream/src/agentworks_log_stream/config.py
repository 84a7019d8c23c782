"""Settings of log-stream (environment prefix ``AW_LOG_STREAM_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from agentworks_platform.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class LogStreamSettings(ServiceSettings):
    """Configuration of log-stream."""

    model_config = SettingsConfigDict(env_prefix="AW_LOG_STREAM_", env_file=".env", extra="ignore", frozen=True)

    service_name: str = "log-stream"
    port: int = 8084
    core_url: str = "http://127.0.0.1:8081"
    client_queue_size: int = 1000
    blobs_backend: Literal["local", "gcs"] = "local"
    blobs_dir: Path = Path(".dev/blobs")
    logs_bucket: str = "agentworks-logs-dev"
    retain_lines_hours: float = 24 * 7
    listener_probe_seconds: float = Field(
        default=15.0, gt=0, description="How often a quiet LISTEN connection is checked (and how long it may take)."
    )
