"""Settings base: one ``Settings`` per service, each with its own environment prefix."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentworks_platform.db import PoolLimits

Environment = Literal["dev", "test", "prod"]

DEV_KEY_PATH = Path(".dev/service-signing-key.pem")
DEV_SERVICE_ACCOUNT_DOMAIN = "agentworks-local.iam.gserviceaccount.com"


def dev_service_account(service: str) -> str:
    """The service account email a service uses in dev (and the emulator's push identity)."""
    return f"{service}@{DEV_SERVICE_ACCOUNT_DOMAIN}"


class ServiceSettings(BaseSettings):
    """Configuration shared by every service. Subclasses set ``env_prefix`` (e.g. ``AW_CORE_``)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    service_name: str
    environment: Environment = "dev"
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = Field(default="", description="This service's base URL; the audience of its tokens.")
    database_url: str = ""
    db_app_role: str | None = Field(default=None, description="PostgreSQL role every transaction runs as (RLS).")
    db_pool_size: int = Field(default=5, ge=1, description="PostgreSQL connections an instance keeps open.")
    db_max_overflow: int = Field(default=2, ge=0, description="Connections an instance may open beyond the pool.")
    db_pool_timeout_seconds: float = Field(
        default=5.0, gt=0, description="How long a request waits for a connection before it answers 503."
    )
    log_level: str = "INFO"
    gcp_project: str = Field(default="agentworks", description="GCP project id (locally: the topology's project).")

    service_account_email: str = ""
    pubsub_push_email: str = f"pubsub-invoker@{DEV_SERVICE_ACCOUNT_DOMAIN}"
    trusted_callers: dict[str, str] = Field(
        default_factory=dict,
        description="Service name → service-account email of each service this one's routes admit (from the deploy).",
    )
    dev_signing_key_file: Path = DEV_KEY_PATH

    trace_exporter: Literal["none", "console", "otlp", "gcp"] = "none"
    secret_values: tuple[SecretStr, ...] = Field(default=(), description="Extra values to redact from logs.")

    @model_validator(mode="after")
    def _fill_defaults(self) -> ServiceSettings:
        values = self.__dict__
        if not self.public_url:
            values["public_url"] = f"http://{self.host}:{self.port}"
        if not self.database_url:
            if self.is_production:
                raise ValueError(f"{self.service_name}: database_url is required outside dev")
            values["database_url"] = f"sqlite+aiosqlite:///.dev/{self.service_name}.db"
        if not self.service_account_email:
            values["service_account_email"] = dev_service_account(self.service_name)
        return self

    @property
    def db_pool(self) -> PoolLimits:
        return PoolLimits(self.db_pool_size, self.db_max_overflow, self.db_pool_timeout_seconds)

    @property
    def is_production(self) -> bool:
        return self.environment == "prod"

    @property
    def audience(self) -> str:
        return self.public_url.rstrip("/")

    def caller_emails(self, callers: Iterable[str]) -> frozenset[str]:
        """The service-account emails of the named services. Production knows only the callers the deploy
        lists; dev and tests also know every name by its dev account."""
        if self.is_production:
            return frozenset(self.trusted_callers[name] for name in callers if name in self.trusted_callers)
        return frozenset(self.trusted_callers.get(name) or dev_service_account(name) for name in callers)
