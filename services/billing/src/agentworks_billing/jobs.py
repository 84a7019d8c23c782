"""The billing service's parts wired together, and its scheduled jobs (period close, reconciliation)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

from agentworks_events import utc_now
from agentworks_platform.db import Database
from agentworks_platform.logging import get_logger
from agentworks_pubsub import Outbox
from agentworks_secrets import EnvSecrets, SecretManagerSecrets, SecretSource

from agentworks_billing import models
from agentworks_billing.config import STRIPE_API_KEY_NAME, STRIPE_WEBHOOK_SIGNING_NAME, BillingSettings
from agentworks_billing.invoices import service as invoices
from agentworks_billing.invoices.payments import Payments
from agentworks_billing.invoices.service import PREVIOUS, CloseReport, previous_period
from agentworks_billing.ledger.budgets import BudgetWatch
from agentworks_billing.ledger.reconcile import Reconciliation, reconcile
from agentworks_billing.ledger.spikes import SpikeChecks

log = get_logger(__name__)


def secrets_for(settings: BillingSettings) -> SecretSource:
    return SecretManagerSecrets(settings.gcp_project) if settings.secrets_backend == "secret-manager" else EnvSecrets()


class Jobs:
    """What billing keeps for its lifetime over one database and outbox: the budget watch, the spike checks'
    memory and payments; and the jobs that run their own transactions (closing a period, reconciling)."""

    def __init__(self, settings: BillingSettings, db: Database, outbox: Outbox, secrets: SecretSource) -> None:
        self.settings = settings
        self.db = db
        self.secrets = secrets
        self.watch = BudgetWatch(outbox, settings.warning_ratio)
        self.spikes = SpikeChecks(settings.spike_check_seconds)
        self.payments = Payments(db)

    @classmethod
    def for_settings(cls, settings: BillingSettings, db: Database | None = None) -> Jobs:
        """Parts for commands run outside the service (no relay: events wait in the outbox for the service)."""
        database = db or Database(settings.database_url, settings.db_pool, app_role=settings.db_app_role)
        return cls(settings, database, Outbox(models.outbox), secrets_for(settings))

    async def connect_payments(self) -> None:
        """Turn payment collection on when a Stripe key is configured."""
        key = await self.secrets.get(STRIPE_API_KEY_NAME)
        if key:
            settings = self.settings
            self.payments = Payments.connect(self.db, key, settings.stripe_api_base, settings.stripe_max_retries)

    async def aclose(self) -> None:
        await self.payments.aclose()

    async def webhook_secret(self) -> str | None:
        return await self.secrets.get(STRIPE_WEBHOOK_SIGNING_NAME)

    async def close_period(self, period: str) -> tuple[CloseReport, list[uuid.UUID]]:
        """Close ``period`` (``YYYY-MM``, or ``previous`` for the last finished month, as Cloud Scheduler asks)."""
        report = await self._close(previous_period(utc_now()) if period == PREVIOUS else period)
        return report, await self.payments.push_pending()

    async def _close(self, period: str) -> CloseReport:
        """Each workspace's invoice is written in its own transaction, keyed by (workspace, period)."""
        report = CloseReport(period)
        async with self.db.transaction() as session:
            workspaces = await invoices.workspaces_to_close(session, period)
        for workspace_id in workspaces:
            async with self.db.transaction() as session:
                invoice = await invoices.close_workspace(session, workspace_id, period, self.settings.minimum_charge)
            if invoice is not None:
                (report.carried_over if invoice.status == "carried_over" else report.invoices).append(invoice.id)
        log.info(
            "billing.period_closed", period=period, invoices=len(report.invoices), carried=len(report.carried_over)
        )
        return report

    async def reconcile(self, since: datetime, until: datetime) -> Reconciliation:
        return await reconcile(self.db, since, until, timedelta(hours=self.settings.unsettled_grace_hours))

    async def run_schedule(self, interval_seconds: float) -> None:
        """In-process schedule for single-machine runs: close last month and reconcile the last day, hourly."""
        while True:
            await self.scheduled_once()
            await asyncio.sleep(interval_seconds)

    async def scheduled_once(self) -> None:
        try:
            now = utc_now()
            await self.close_period(previous_period(now))
            await self.reconcile(now - timedelta(days=1), now)
        except Exception as exc:  # the schedule must outlive one bad run; the next hour retries
            log.error("billing.schedule_failed", error=type(exc).__name__, detail=str(exc)[:500])
