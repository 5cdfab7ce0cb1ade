"""``paymentd ledger pending``: the attempts a person has to look at.

Lists every attempt still pending (in flight, or left by a daemon that died and
has not been restarted) or flagged for reconciliation (the gateway's outcome
could not be established), oldest first. It reads the ledger beside a running
daemon without disturbing it. Card data is never in the ledger, so never here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from paymentd.config import ConfigError, load_config
from paymentd.ledger.database import LedgerError
from paymentd.ledger.ledger import open_ledger
from paymentd.ledger.records import AttemptRecord
from paymentd.money import Money

__all__ = ["SUBCOMMAND", "format_table", "pending_attempts"]

_COLUMNS = ("created", "attempt", "status", "gateway", "amount", "card", "account", "reference")


async def pending_attempts(config_path: str | None) -> list[AttemptRecord]:
    """The unresolved attempts of the ledger configured in ``config_path``."""
    ledger = await open_ledger(load_config(config_path).ledger, read_only=True)
    try:
        return await ledger.unresolved()
    finally:
        await ledger.close()


def _amount(record: AttemptRecord) -> str:
    try:
        return str(Money(record.amount_minor, record.currency))
    except ValueError:
        return f"{record.amount_minor} (minor) {record.currency}"


def _row(record: AttemptRecord) -> tuple[str, ...]:
    status = record.status.value + (" (reconcile)" if record.needs_reconciliation else "")
    return (
        record.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        record.attempt_id,
        status,
        record.gateway,
        _amount(record),
        f"{record.brand} ****{record.last4}",
        record.account_id or "-",
        record.reference or "-",
    )


def format_table(records: list[AttemptRecord]) -> str:
    """A plain-text table (UTC times), or a line saying there is nothing to do."""
    if not records:
        return "No pending or unreconciled attempts."
    rows = [_COLUMNS, *(_row(r) for r in records)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def _as_json(record: AttemptRecord) -> dict[str, object]:
    return {
        "attempt_id": record.attempt_id,
        "idempotency_key": record.idempotency_key,
        "session_id": record.session_id,
        "call_uuid": record.call_uuid,
        "gateway": record.gateway,
        "status": record.status.value,
        "needs_reconciliation": record.needs_reconciliation,
        "amount_minor": record.amount_minor,
        "currency": record.currency,
        "brand": record.brand,
        "last4": record.last4,
        "account_id": record.account_id,
        "reference": record.reference,
        "token_ref": record.token_ref,
        "detail": record.detail,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
    }


def _configure(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="ledger_command", metavar="COMMAND", required=True)
    pending = commands.add_parser(
        "pending", help="list attempts still pending or flagged for reconciliation"
    )
    pending.add_argument("--config", metavar="FILE", help="TOML configuration (default: built-in)")
    pending.add_argument("--format", choices=("table", "json"), default="table")


def _run(args: argparse.Namespace) -> int:
    try:
        records = asyncio.run(pending_attempts(args.config))
    except (ConfigError, LedgerError) as exc:
        print(f"paymentd ledger pending: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps([_as_json(r) for r in records], indent=2))
    else:
        print(format_table(records))
    return 0


SUBCOMMAND = (
    "ledger",
    "inspect the payment ledger (pending: attempts needing attention)",
    _configure,
    _run,
)
