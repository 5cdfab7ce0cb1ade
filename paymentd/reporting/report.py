"""A report of the payment sessions of a period, read from the ledger.

Counts by result, mode, card brand and decline reason, approved amounts by
currency, and the sessions themselves.  The ledger never holds a PAN, CVV or
expiry; a card appears here only as its brand and last four digits.
"""

from __future__ import annotations

import datetime
from typing import Any

import attrs

from paymentd.ledger import Ledger, LedgerSummary, SessionRecord
from paymentd.money import Money, UnknownCurrency

__all__ = ["SESSION_COLUMNS", "SessionReport", "build_report", "session_row"]

#: The columns of the session list, in order (CSV header, table, JSON keys).
SESSION_COLUMNS = (
    "started_at",
    "ended_at",
    "duration_seconds",
    "session_id",
    "call_uuid",
    "mode",
    "result",
    "attempts",
    "declines",
    "amount",
    "currency",
    "card",
    "confirmation_code",
    "account_id",
    "reference",
)


@attrs.frozen
class SessionReport:
    """The sessions that started in ``[since, until)``."""

    since: datetime.datetime
    until: datetime.datetime
    summary: LedgerSummary
    sessions: tuple[SessionRecord, ...]
    #: More sessions started in the period than are listed (``limit``).
    truncated: bool = False

    def as_json(self) -> dict[str, Any]:
        """The whole report as JSON-ready values (amounts as decimal strings)."""
        summary = self.summary
        return {
            "period": {"since": _iso(self.since), "until": _iso(self.until)},
            "sessions": {
                "total": summary.sessions,
                "by_result": summary.sessions_by_result,
                "by_mode": summary.sessions_by_mode,
            },
            "attempts": {
                "total": summary.attempts,
                "by_status": summary.attempts_by_status,
                "by_brand": summary.attempts_by_brand,
                "by_mode": summary.attempts_by_mode,
            },
            "declines_by_reason": summary.declines_by_reason,
            "approved_amounts": approved_amounts(summary),
            "needs_reconciliation": summary.needs_reconciliation,
            "session_list": [session_row(s) for s in self.sessions],
            "truncated": self.truncated,
        }


async def build_report(
    ledger: Ledger,
    since: datetime.datetime,
    until: datetime.datetime,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> SessionReport:
    """Read the period's summary and (up to ``limit``) sessions from ``ledger``."""
    summary = await ledger.summary(since, until)
    # One more than asked tells whether the list was cut.
    page = None if limit is None else limit + 1
    sessions = await ledger.sessions(since, until, limit=page, offset=offset)
    truncated = limit is not None and len(sessions) > limit
    if truncated:
        sessions = sessions[:limit]
    return SessionReport(since, until, summary, tuple(sessions), truncated)


def approved_amounts(summary: LedgerSummary) -> dict[str, str]:
    """Approved sums per currency, as decimals in major units (``{"USD": "125.50"}``)."""
    return {
        currency: _decimal(minor, currency)
        for currency, minor in sorted(summary.approved_minor_by_currency.items())
    }


def session_row(record: SessionRecord) -> dict[str, Any]:
    """One session as a flat row; the card masked as ``visa ****4242``."""
    duration = None
    if record.ended_at is not None:
        duration = round((record.ended_at - record.started_at).total_seconds(), 3)
    card = f"{record.brand} ****{record.last4}" if record.brand and record.last4 else None
    amount = None
    if record.amount_minor is not None and record.currency:
        amount = _decimal(record.amount_minor, record.currency)
    return {
        "started_at": _iso(record.started_at),
        "ended_at": _iso(record.ended_at) if record.ended_at is not None else None,
        "duration_seconds": duration,
        "session_id": record.session_id,
        "call_uuid": record.call_uuid,
        "mode": record.mode,
        "result": record.result,
        "attempts": record.attempts,
        "declines": record.declines,
        "amount": amount,
        "currency": record.currency,
        "card": card,
        "confirmation_code": record.confirmation_code,
        "account_id": record.account_id,
        "reference": record.reference,
    }


def _decimal(minor: int, currency: str) -> str:
    try:
        return Money(minor, currency).decimal()
    except (UnknownCurrency, ValueError):
        # A currency this build does not know: minor units are still exact.
        return f"{minor} (minor units)"


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
