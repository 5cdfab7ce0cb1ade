"""``paymentd report``: the payment sessions of a period, from the ledger.

Reads the configured ledger beside a running daemon without disturbing it::

    paymentd report --config /etc/paymentd.toml --since 2026-11-01 --until 2026-11-02
    paymentd report --since 24h --format csv > sessions.csv
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import sys

from paymentd.config import ConfigError, load_config
from paymentd.ledger.database import LedgerError
from paymentd.ledger.ledger import open_ledger
from paymentd.reporting.period import InvalidPeriod, parse_period
from paymentd.reporting.render import FORMATS, render
from paymentd.reporting.report import SessionReport, build_report

__all__ = ["SUBCOMMAND", "report_text"]


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    return int(text)


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML configuration (default: built-in)")
    parser.add_argument(
        "--since",
        metavar="WHEN",
        default="24h",
        help="start of the period: 2026-11-01, 2026-11-01T08:30Z, or back from now: 24h, 7d"
        " (default: 24h)",
    )
    parser.add_argument("--until", metavar="WHEN", help="end of the period (default: now)")
    parser.add_argument("--format", choices=FORMATS, default="table", help="default: table")
    parser.add_argument(
        "--limit", metavar="N", type=_count, help="list at most N sessions (the counts cover all)"
    )


async def _read(
    config_path: str | None,
    since: datetime.datetime,
    until: datetime.datetime,
    limit: int | None,
) -> SessionReport:
    ledger = await open_ledger(load_config(config_path).ledger, read_only=True)
    try:
        return await build_report(ledger, since, until, limit=limit)
    finally:
        await ledger.close()


def report_text(args: argparse.Namespace, now: datetime.datetime | None = None) -> str:
    """The report the arguments ask for, rendered (raises on bad input)."""
    moment = now or datetime.datetime.now(datetime.UTC)
    since, until = parse_period(args.since, args.until, moment)
    report = asyncio.run(_read(args.config, since, until, args.limit))
    return render(report, args.format)


def _run(args: argparse.Namespace) -> int:
    try:
        text = report_text(args)
    except (ConfigError, InvalidPeriod, LedgerError) as exc:
        print(f"paymentd report: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


SUBCOMMAND = (
    "report",
    "payment sessions of a period from the ledger (counts, amounts, masked session list)",
    _configure,
    _run,
)
