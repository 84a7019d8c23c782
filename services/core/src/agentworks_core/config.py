"""Settings of the core service (environment prefix ``AW_CORE_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from agentworks_platform.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class CoreSettings(ServiceSettings):
    """Configuration of the core service."""

    model_config = SettingsConfigDict(env_prefix="AW_CORE_", env_file=".env", extra="ignore", frozen=True)

    service_name: str = "core"
    port: int = 8081
    provider_router_url: str = "http://127.0.0.1:8083"
    db_app_role: str | None = "agentworks_core_app"
    # Rendered boards kept per instance (about 0.5 MB for 9 lanes × 200 cards); 0 renders every read.
    board_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    # How long an invitation link stays valid (7 days by default).
    invitation_ttl_hours: int = Field(default=7 * 24, ge=1, le=90 * 24)
    documents_backend: Literal["sql", "firestore"] = "sql"
    firestore_database: str = "(default)"
    # Where card attachments are kept (the blobs port): a local directory in dev, a Cloud Storage bucket otherwise
    # (Terraform's <prefix>-attachments-<environment>, which only core's identity may read and write).
    blobs_backend: Literal["local", "gcs"] = "local"
    blobs_dir: Path = Path(".dev/blobs")
    attachments_bucket: str = "agentworks-attachments-dev"
    # The gateway takes request bodies of up to 2 MB, so an attachment is no larger.
    attachment_max_bytes: int = Field(default=2 * 1024 * 1024, ge=1, le=2 * 1024 * 1024)
