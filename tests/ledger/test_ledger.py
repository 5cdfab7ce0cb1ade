"""Every ledger operation, on SQLite and on PostgreSQL (see conftest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from paymentd.ledger import AttemptStatus, Ledger, LedgerConfig, NewAttempt, open_ledger
from paymentd.ledger.schema import MIGRATIONS
from paymentd.payments import Approved, Declined, DeclineReason, Failed, Unknown
from tests.gateways.support import AMEX, MASTERCARD, SUCCESS, charge_request

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
FAR = datetime(2100, 1, 1, tzinfo=UTC)


def new_attempt(pan: str = SUCCESS, **kwargs: object) -> NewAttempt:
    return NewAttempt.from_request(charge_request(pan, **kwargs), "sandbox")  # type: ignore[arg-type]


async def test_migrations_are_applied_once(ledger_config: LedgerConfig) -> None:
    first = await open_ledger(ledger_config)
    await first.close()
    second = await open_ledger(ledger_config)
    try:
        rows = await second._db.fetch("SELECT version, name FROM ledger_schema ORDER BY version")
        assert [r["version"] for r in rows] == [m.version for m in MIGRATIONS]
    finally:
        await second.close()


async def test_a_schema_newer_than_the_code_is_refused(ledger_config: LedgerConfig) -> None:
    ledger = await open_ledger(ledger_config)
    await ledger._db.execute(
        "INSERT INTO ledger_schema (version, name, applied_at) VALUES ($1, $2, $3)",
        999,
        "from the future",
        datetime.now(UTC),
    )
    await ledger.close()
    with pytest.raises(Exception, match="schema version 999"):
        await open_ledger(ledger_config)


async def test_pending_attempt_holds_everything_but_the_card(ledger: Ledger) -> None:
    request = charge_request(AMEX, minor=999, currency="EUR")
    assert await ledger.record_pending(NewAttempt.from_request(request, "stripe"))
    record = await ledger.attempt(request.attempt_id)
    assert record is not None
    assert record.status is AttemptStatus.PENDING
    assert (record.idempotency_key, record.session_id, record.call_uuid) == (
        request.idempotency_key,
        request.session_id,
        request.call_uuid,
    )
    assert (record.amount_minor, record.currency) == (999, "EUR")
    assert (record.brand, record.last4) == ("amex", "0005")
    assert (record.account_id, record.reference, record.mode) == ("ACC-1001", "INV-42", "automated")
    assert record.gateway == "stripe"
    assert record.owner == ledger.instance_id
    assert record.created_at == record.updated_at
    assert record.resolved_at is None
    assert record.outcome() is None
    assert await ledger.attempt_by_key(request.idempotency_key) == record
    # The session row was created with the first attempt.
    (session,) = await ledger.sessions(EPOCH, FAR)
    assert session.session_id == request.session_id
    assert session.result is None


async def test_an_attempt_is_recorded_at_most_once(ledger: Ledger) -> None:
    attempt = new_attempt()
    assert await ledger.record_pending(attempt)
    assert not await ledger.record_pending(attempt)
    same_key = new_attempt(key=attempt.idempotency_key)
    assert not await ledger.record_pending(same_key)
    assert await ledger.attempt(same_key.attempt_id) is None


async def test_token_and_outcomes(ledger: Ledger) -> None:
    approved, declined, failed, unknown = (new_attempt() for _ in range(4))
    for attempt in (approved, declined, failed, unknown):
        await ledger.record_pending(attempt)
    await ledger.record_token(approved.attempt_id, "pm_1Abc")
    assert await ledger.record_outcome(approved.attempt_id, Approved("pi_123", "ch_456"))
    assert await ledger.record_outcome(
        declined.attempt_id, Declined(DeclineReason.INSUFFICIENT_FUNDS, "insufficient_funds")
    )
    assert await ledger.record_outcome(failed.attempt_id, Failed(True, "HTTP 503"))
    assert await ledger.record_outcome(unknown.attempt_id, Unknown("timed out after 2.0 s"))

    a = await ledger.attempt(approved.attempt_id)
    assert a is not None
    assert (a.status, a.token_ref, a.confirmation_code, a.gateway_reference) == (
        AttemptStatus.APPROVED,
        "pm_1Abc",
        "pi_123",
        "ch_456",
    )
    assert a.resolved_at is not None
    assert not a.needs_reconciliation
    assert a.outcome() == Approved("pi_123", "ch_456")

    d = await ledger.attempt(declined.attempt_id)
    assert d is not None
    assert (d.status, d.decline_reason, d.raw_code) == (
        AttemptStatus.DECLINED,
        "insufficient_funds",
        "insufficient_funds",
    )
    f = await ledger.attempt(failed.attempt_id)
    assert f is not None
    assert (f.status, f.detail) == (AttemptStatus.FAILED, "HTTP 503")

    u = await ledger.attempt(unknown.attempt_id)
    assert u is not None
    assert (u.status, u.needs_reconciliation, u.resolved_at) == (AttemptStatus.UNKNOWN, True, None)
    assert [r.attempt_id for r in await ledger.unresolved()] == [unknown.attempt_id]


async def test_a_final_outcome_is_never_overwritten(ledger: Ledger) -> None:
    attempt = new_attempt()
    await ledger.record_pending(attempt)
    await ledger.record_outcome(attempt.attempt_id, Approved("pi_1"))
    assert not await ledger.record_outcome(attempt.attempt_id, Unknown("late timeout"))
    assert not await ledger.record_outcome(attempt.attempt_id, Declined(DeclineReason.GENERIC))
    record = await ledger.attempt(attempt.attempt_id)
    assert record is not None
    assert record.outcome() == Approved("pi_1")


async def test_an_unknown_attempt_can_still_be_resolved(ledger: Ledger) -> None:
    attempt = new_attempt()
    await ledger.record_pending(attempt)
    await ledger.record_outcome(attempt.attempt_id, Unknown("timeout"))
    assert await ledger.record_outcome(attempt.attempt_id, Approved("pi_9"))
    record = await ledger.attempt(attempt.attempt_id)
    assert record is not None
    assert (record.status, record.needs_reconciliation, record.detail) == (
        AttemptStatus.APPROVED,
        False,
        None,
    )
    assert await ledger.unresolved() == []


async def test_sessions_begin_and_end(ledger: Ledger) -> None:
    await ledger.begin_session("s-1", "call-1", "agent", "ACC-7", "REF-7")
    await ledger.begin_session("s-1", "call-1", "agent")  # idempotent
    assert await ledger.end_session("s-1", "caller-cancelled")
    assert not await ledger.end_session("s-unknown", "success")
    (session,) = await ledger.sessions(EPOCH, FAR)
    assert (session.mode, session.account_id, session.reference) == ("agent", "ACC-7", "REF-7")
    assert session.result == "caller-cancelled"
    assert session.ended_at is not None
    assert session.ended_at >= session.started_at
    assert (session.attempts, session.declines, session.last4, session.amount_minor) == (
        0,
        0,
        None,
        None,
    )


async def test_sessions_and_summary_for_reporting(ledger: Ledger) -> None:
    # Session 1: a decline, then an approval on another card.
    first = charge_request(SUCCESS, session_id="s-1", minor=1000)
    declined = NewAttempt.from_request(charge_request(MASTERCARD, session_id="s-1"), "sandbox")
    await ledger.record_pending(declined)
    await ledger.record_outcome(declined.attempt_id, Declined(DeclineReason.EXPIRED_CARD, "exp"))
    await ledger.record_pending(NewAttempt.from_request(first, "sandbox"))
    await ledger.record_outcome(first.attempt_id, Approved("OK-1"))
    await ledger.end_session("s-1", "success")
    # Session 2: one approval in EUR; session 3: a decline, unfinished.
    euro = charge_request(AMEX, session_id="s-2", minor=250, currency="EUR")
    await ledger.record_pending(NewAttempt.from_request(euro, "sandbox"))
    await ledger.record_outcome(euro.attempt_id, Approved("OK-2"))
    await ledger.end_session("s-2", "success")
    third = NewAttempt.from_request(charge_request(SUCCESS, session_id="s-3"), "sandbox")
    await ledger.record_pending(third)
    await ledger.record_outcome(third.attempt_id, Declined(DeclineReason.GENERIC))
    pending = NewAttempt.from_request(charge_request(SUCCESS, session_id="s-3"), "sandbox")
    await ledger.record_pending(pending)

    sessions = {s.session_id: s for s in await ledger.sessions(EPOCH, FAR)}
    assert set(sessions) == {"s-1", "s-2", "s-3"}
    s1 = sessions["s-1"]
    # The approved attempt speaks for the session, not the latest one.
    assert (s1.attempts, s1.declines, s1.brand, s1.last4, s1.amount_minor) == (
        2,
        1,
        "visa",
        "4242",
        1000,
    )
    assert s1.confirmation_code == "OK-1"
    assert sessions["s-3"].result is None
    ordered = [s.session_id for s in await ledger.sessions(EPOCH, FAR)]
    assert [s.session_id for s in await ledger.sessions(EPOCH, FAR, limit=1, offset=1)] == [
        ordered[1]
    ]
    assert [s.session_id for s in await ledger.sessions(EPOCH, FAR, offset=1)] == ordered[1:]

    summary = await ledger.summary(EPOCH, FAR)
    assert summary.sessions == 3
    assert summary.sessions_by_result == {"success": 2, "unfinished": 1}
    assert summary.sessions_by_mode == {"automated": 3}
    assert summary.attempts == 5
    assert summary.attempts_by_status == {"approved": 2, "declined": 2, "pending": 1}
    assert summary.attempts_by_brand == {"visa": 3, "mastercard": 1, "amex": 1}
    assert summary.attempts_by_mode == {"automated": 5}
    assert summary.declines_by_reason == {"expired_card": 1, "generic": 1}
    assert summary.approved_minor_by_currency == {"USD": 1000, "EUR": 250}
    assert summary.needs_reconciliation == 1

    # The period bounds are honoured: nothing is in the future.
    later = datetime.now(UTC) + timedelta(hours=1)
    assert await ledger.sessions(later, FAR) == []
    assert (await ledger.summary(later, FAR)).attempts == 0
    assert len(await ledger.attempts(EPOCH, FAR)) == 5


async def test_recovery_takes_over_the_attempts_of_a_closed_instance(
    ledger_config: LedgerConfig,
) -> None:
    crashed = await open_ledger(ledger_config)
    attempt = new_attempt()
    await crashed.record_pending(attempt)
    unknown = new_attempt()
    await crashed.record_pending(unknown)
    await crashed.record_outcome(unknown.attempt_id, Unknown("timeout"))
    await crashed.close()

    successor = await open_ledger(ledger_config)
    try:
        taken = await successor.take_over_orphans()
        assert [r.attempt_id for r in taken] == [attempt.attempt_id, unknown.attempt_id]
        assert taken[0].owner == successor.instance_id
        # Its own pending attempts (in flight, or already taken over) are never "orphans";
        # flagged ones are offered again until resolved.
        await successor.record_pending(new_attempt())
        again = await successor.take_over_orphans()
        assert [r.attempt_id for r in again] == [unknown.attempt_id]
    finally:
        await successor.close()
