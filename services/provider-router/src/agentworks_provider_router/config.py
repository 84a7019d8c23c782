"""Settings of the provider router service (environment prefix ``AW_PROVIDER_ROUTER_``)."""

from __future__ import annotations

from agentworks_platform.settings import ServiceSettings, dev_service_account
from pydantic_settings import SettingsConfigDict


class ProviderRouterSettings(ServiceSettings):
    """Configuration of the provider router service."""

    model_config = SettingsConfigDict(env_prefix="AW_PROVIDER_ROUTER_", env_file=".env", extra="ignore", frozen=True)

    service_name: str = "provider-router"
    port: int = 8083
    trusted_service_emails: tuple[str, ...] = tuple(dev_service_account(s) for s in ("core", "orchestrator"))
