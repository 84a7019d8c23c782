"""``agentworks-billing``: close a billing period, reconcile the ledger, set a workspace's plan."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from agentworks_events.money import DEFAULT_INCREMENT, MINIMUM_MARKUP
from agentworks_platform.errors import AppError
from agentworks_platform.money import money_text

from agentworks_billing.accounts import service as accounts
from agentworks_billing.config import BillingSettings
from agentworks_billing.jobs import Jobs


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _decimal(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {value}") from None


async def _close(jobs: Jobs, args: argparse.Namespace) -> int:
    await jobs.connect_payments()
    report, sent = await jobs.close_period(args.period)
    _out(f"period {report.period}: {len(report.invoices)} invoice(s), {len(report.carried_over)} carried over")
    _out(f"sent to Stripe: {len(sent)}" if jobs.payments.enabled else jobs.payments.status_message)
    return 0


async def _reconcile(jobs: Jobs, args: argparse.Namespace) -> int:
    until = args.until or datetime.now(UTC)
    report = await jobs.reconcile(args.since or until - timedelta(days=1), until)
    rows = [
        {
            "kind": d.kind,
            "run_id": str(d.run_id),
            "workspace_id": str(d.workspace_id),
            "recorded_cost": money_text(d.recorded_cost),
            "settled_cost": None if d.settled_cost is None else money_text(d.settled_cost),
        }
        for d in report.differences
    ]
    _out(json.dumps({"runs_checked": report.runs_checked, "balanced": report.balanced, "differences": rows}, indent=2))
    return 0 if report.balanced else 1


async def _set_plan(jobs: Jobs, args: argparse.Namespace) -> int:
    async with jobs.db.transaction() as session:
        plan = await accounts.set_plan(session, args.workspace, args.markup, args.increment)
    _out(f"workspace {args.workspace}: markup {money_text(plan.markup)}×, increment ${money_text(plan.increment)}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="agentworks-billing", description="Billing jobs; configured like the service (AW_BILLING_* variables)."
    )
    commands = root.add_subparsers(dest="command", required=True)
    close = commands.add_parser("close-period", help="invoice a finished month and send invoices to Stripe")
    close.add_argument("period", help="YYYY-MM")
    close.set_defaults(run=_close)
    recon = commands.add_parser("reconcile", help="check settled run costs against recorded provider calls")
    recon.add_argument("--since", type=_moment, help="ISO time, default 24 hours before --until")
    recon.add_argument("--until", type=_moment, help="ISO time, default now")
    recon.set_defaults(run=_reconcile)
    plan = commands.add_parser("set-plan", help="change a workspace's markup and increment (future runs only)")
    plan.add_argument("workspace", type=uuid.UUID)
    plan.add_argument("--markup", type=_decimal, required=True, help=f"at least {MINIMUM_MARKUP}")
    plan.add_argument("--increment", type=_decimal, default=DEFAULT_INCREMENT)
    plan.set_defaults(run=_set_plan)
    return root


async def _main(args: argparse.Namespace) -> int:
    jobs = Jobs.for_settings(BillingSettings())
    try:
        result: int = await args.run(jobs, args)
        return result
    except AppError as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        return 2
    finally:
        await jobs.aclose()
        await jobs.db.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(_main(parser().parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
