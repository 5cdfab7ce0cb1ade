"""A ledger holding a known day of payment sessions, written through the ledger's own API."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator

import pytest

from paymentd.cards import CardNumber
from paymentd.ledger import Ledger, LedgerConfig, NewAttempt, open_ledger
from paymentd.payments import Approved, ChargeOutcome, Declined, DeclineReason, Unknown

# The ledger's fixture (SQLite, and PostgreSQL on the session's cluster), reused here.
from tests.ledger.conftest import ledger_config

__all__ = ["ledger_config"]

DAY = datetime.datetime(2026, 11, 2, tzinfo=datetime.UTC)
NEXT_DAY = DAY + datetime.timedelta(days=1)
#: Every PAN the day used; none may appear in any report.
PANS = (
    "4242424242424242",
    "5555555555554444",
    "4111111111111111",
    "4000000000000002",
    "378282246310005",
)


class Clock:
    """The ledger's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = DAY

    def __call__(self) -> datetime.datetime:
        return self.now

    def at(self, hour: int, minute: int = 0, second: int = 0) -> None:
        self.now = DAY.replace(hour=hour, minute=minute, second=second)


async def _attempt(
    ledger: Ledger,
    session: str,
    number: int,
    pan: str,
    minor: int,
    currency: str,
    outcome: ChargeOutcome,
    mode: str = "automated",
) -> None:
    card = CardNumber(pan)
    attempt = NewAttempt(
        attempt_id=f"{session}-{number}",
        idempotency_key=f"paymentd-{session}-{number}",
        session_id=session,
        call_uuid=f"call-{session}",
        amount_minor=minor,
        currency=currency,
        brand=card.brand.id,
        last4=card.last4,
        account_id="ACC-77",
        reference=f"INV-{session}",
        mode=mode,
        gateway="sandbox",
    )
    assert await ledger.record_pending(attempt)
    await ledger.record_outcome(attempt.attempt_id, outcome)


async def write_day(ledger: Ledger, clock: Clock) -> None:
    """Six sessions on DAY, one the evening before and one just after."""

    async def session(name: str, hour: int, mode: str = "automated") -> None:
        clock.at(hour)
        await ledger.begin_session(name, f"call-{name}", mode, "ACC-77", f"INV-{name}")

    async def end(name: str, result: str, hour: int, minute: int) -> None:
        clock.at(hour, minute)
        await ledger.end_session(name, result)

    clock.now = DAY - datetime.timedelta(minutes=1)
    await ledger.begin_session("s0", "call-s0", "automated")
    await ledger.end_session("s0", "success")

    await session("s1", 9)
    await _attempt(ledger, "s1", 1, PANS[0], 12550, "USD", Approved("CONF1"))
    await end("s1", "success", 9, 2)

    await session("s2", 10, "agent")
    reason = DeclineReason.INSUFFICIENT_FUNDS
    await _attempt(ledger, "s2", 1, PANS[1], 5000, "USD", Declined(reason, "51"), "agent")
    await _attempt(ledger, "s2", 2, PANS[2], 5000, "USD", Approved("CONF2"), "agent")
    await end("s2", "success", 10, 4)

    await session("s3", 11)
    await _attempt(ledger, "s3", 1, PANS[3], 900, "USD", Declined(DeclineReason.GENERIC))
    await end("s3", "declined", 11, 3)

    await session("s4", 12)
    await end("s4", "caller-hung-up", 12, 1)

    await session("s5", 13)
    await _attempt(ledger, "s5", 1, PANS[4], 2000, "EUR", Unknown("timed out"))
    await end("s5", "unknown-outcome", 13, 2)

    await session("s6", 14)
    await _attempt(ledger, "s6", 1, PANS[0], 1000, "EUR", Approved("CONF6"))
    await end("s6", "success", 14, 1)

    clock.now = NEXT_DAY
    await ledger.begin_session("s7", "call-s7", "automated")


@pytest.fixture
async def day_ledger(ledger_config: LedgerConfig) -> AsyncIterator[Ledger]:
    """A ledger (SQLite, then PostgreSQL) holding :func:`write_day`."""
    clock = Clock()
    ledger = await open_ledger(ledger_config, clock)
    await write_day(ledger, clock)
    yield ledger
    await ledger.close()
