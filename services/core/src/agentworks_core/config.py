"""Settings of the core service (environment prefix ``AW_CORE_``)."""

from __future__ import annotations

from agentworks_platform.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class CoreSettings(ServiceSettings):
    """Configuration of the core service."""

    model_config = SettingsConfigDict(env_prefix="AW_CORE_", env_file=".env", extra="ignore", frozen=True)

    service_name: str = "core"
    port: int = 8081
