"""Settings of the log stream service (environment prefix ``AW_LOG_STREAM_``)."""

from __future__ import annotations

from agentworks_platform.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class LogStreamSettings(ServiceSettings):
    """Configuration of the log stream service."""

    model_config = SettingsConfigDict(env_prefix="AW_LOG_STREAM_", env_file=".env", extra="ignore", frozen=True)

    service_name: str = "log-stream"
    port: int = 8084
