"""Settings of the billing service (environment prefix ``AW_BILLING_``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from agentworks_events.money import DEFAULT_INCREMENT, MINIMUM_MARKUP
from agentworks_platform.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict

STRIPE_API_KEY_NAME = "stripe-secret-key"
STRIPE_WEBHOOK_SIGNING_NAME = "stripe-webhook-secret"


class BillingSettings(ServiceSettings):
    """Configuration of the billing service.

    Payment collection is on only when the ``stripe-secret-key`` secret is set (``STRIPE_SECRET_KEY`` locally).
    """

    model_config = SettingsConfigDict(env_prefix="AW_BILLING_", env_file=".env", extra="ignore", frozen=True)

    service_name: str = "billing"
    port: int = 8085
    core_url: str = "http://127.0.0.1:8081"
    secrets_backend: Literal["env", "secret-manager"] = "env"

    default_markup: Decimal = Field(
        default=MINIMUM_MARKUP, ge=MINIMUM_MARKUP, description="Markup of workspaces without a plan."
    )
    default_increment: Decimal = Field(default=DEFAULT_INCREMENT, ge=Decimal("0.01"))
    warning_ratio: Decimal = Field(default=Decimal("0.8"), gt=0, lt=1, description="Share of a cap that warns.")
    spike_ratio: Decimal = Field(
        default=Decimal("1.5"), gt=1, description="A day above this multiple of the trailing 7-day average alerts."
    )
    spike_check_seconds: float = Field(
        default=60, ge=0, description="How often (at most) a workspace's day is checked for a cost spike."
    )
    minimum_charge: Decimal = Field(
        default=Decimal("0.50"), ge=0, description="Stripe's minimum charge; smaller totals carry over."
    )
    pull_usage_events: bool = Field(
        default=True,
        description="Pull billing-usage-events into the ledger in this process (off where another process does).",
    )
    pull_max_messages: int = Field(
        default=500, ge=1, le=1000, description="Usage events pulled, and applied in one transaction, at a time."
    )
    stripe_api_base: str | None = Field(default=None, description="Stripe API address (a local fake in tests).")
    stripe_max_retries: int = Field(default=2, ge=0)
    stripe_webhook_tolerance_seconds: int = Field(default=300, ge=1)
    schedule_in_process: bool = Field(
        default=True, description="Close periods and reconcile hourly in-process (off when Cloud Scheduler calls in)."
    )
    schedule_interval_seconds: float = Field(default=3600, gt=0)
    unsettled_grace_hours: int = Field(
        default=6, ge=0, description="Reconciliation reports usage of runs not settled after this long."
    )
