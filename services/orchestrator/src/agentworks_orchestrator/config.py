"""Settings of the orchestrator service (environment prefix ``AW_ORCHESTRATOR_``)."""

from __future__ import annotations

from agentworks_platform.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class OrchestratorSettings(ServiceSettings):
    """Configuration of the orchestrator service."""

    model_config = SettingsConfigDict(env_prefix="AW_ORCHESTRATOR_", env_file=".env", extra="ignore", frozen=True)

    service_name: str = "orchestrator"
    port: int = 8082
