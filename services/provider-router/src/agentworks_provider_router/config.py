"""Settings of the provider router (environment prefix ``AW_PROVIDER_ROUTER_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from agentworks_platform.settings import ServiceSettings
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict


class ProviderLimits(BaseModel):
    max_concurrent: int = Field(default=16, ge=1)
    max_queue: int = Field(default=64, ge=0)
    rpm: int = Field(default=0, ge=0, description="Requests per minute; 0 = unlimited.")
    tpm: int = Field(default=0, ge=0, description="Tokens per minute; 0 = unlimited.")


class ProviderRouterSettings(ServiceSettings):
    """Configuration of the provider router."""

    model_config = SettingsConfigDict(env_prefix="AW_PROVIDER_ROUTER_", env_file=".env", extra="ignore", frozen=True)

    service_name: str = "provider-router"
    port: int = 8083

    secrets_backend: Literal["env", "secret-manager"] = "env"
    openai_base_url: str | None = None
    anthropic_base_url: str | None = None
    google_base_url: str | None = None
    offline_when_unconfigured: bool = Field(
        default=True, description="Serve models of providers without a key from the offline provider."
    )
    offline_token_delay: float = Field(
        default=0.002,
        ge=0,
        description="Seconds the offline provider waits after each streamed word: raised, a run lasts long enough "
        "to watch it (or stop a service mid-run); 0 streams at once.",
    )
    blobs_backend: Literal["local", "gcs"] = Field(default="local", description="Where url image answers are kept.")
    blobs_dir: Path = Path(".dev/blobs")
    images_bucket: str = "agentworks-images-dev"

    fallbacks: dict[str, list[str]] = Field(default_factory=dict, description="model → models to try next")
    limits: dict[str, ProviderLimits] = Field(default_factory=dict)
    max_attempts: int = Field(default=3, ge=1, le=10)
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 8.0
    max_retry_after_seconds: float = 30.0
    call_timeout_seconds: float = 60.0
    breaker_threshold: int = 5
    breaker_cooldown_seconds: float = 30.0
