"""Settings of the billing service (environment prefix ``AW_BILLING_``)."""

from __future__ import annotations

from agentworks_platform.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class BillingSettings(ServiceSettings):
    """Configuration of the billing service."""

    model_config = SettingsConfigDict(env_prefix="AW_BILLING_", env_file=".env", extra="ignore", frozen=True)

    service_name: str = "billing"
    port: int = 8085
