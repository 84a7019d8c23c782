"""Settings of the gateway service (environment prefix ``AW_GATEWAY_``)."""

from __future__ import annotations

from agentworks_platform.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class GatewaySettings(ServiceSettings):
    """Configuration of the gateway service."""

    model_config = SettingsConfigDict(env_prefix="AW_GATEWAY_", env_file=".env", extra="ignore", frozen=True)

    service_name: str = "gateway"
    port: int = 8080
