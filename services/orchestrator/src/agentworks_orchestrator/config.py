"""Settings of the orchestrator (environment prefix ``AW_ORCHESTRATOR_``)."""

from __future__ import annotations

from agentworks_platform.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class OrchestratorSettings(ServiceSettings):
    """Configuration of the orchestrator."""

    model_config = SettingsConfigDict(env_prefix="AW_ORCHESTRATOR_", env_file=".env", extra="ignore", frozen=True)

    service_name: str = "orchestrator"
    port: int = 8082
    core_url: str = "http://127.0.0.1:8081"
    provider_router_url: str = "http://127.0.0.1:8083"
    billing_url: str = "http://127.0.0.1:8085"
    runs_per_hour: int = Field(default=100, ge=1, description="Agent runs a workspace may start per hour.")
    lease_seconds: float = Field(default=30.0, gt=0, description="A running attempt renews its lease this often.")
    log_batch_seconds: float = Field(default=0.1, gt=0)
    log_batch_lines: int = Field(default=20, ge=1)
    max_output_tokens: int = 4096
