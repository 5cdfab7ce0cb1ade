"""The charging service: ledger first, gateway once, lookup on timeout, card dropped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from paymentd.gateways import (
    ChargingService,
    GatewayConfig,
    RestConfig,
    SandboxConfig,
    StripeConfig,
)
from paymentd.gateways.rest import RestGateway
from paymentd.gateways.sandbox import SandboxGateway
from paymentd.gateways.service import NEVER_SENT, NOT_CHARGED
from paymentd.gateways.stripe import StripeGateway
from paymentd.ledger import AttemptStatus, Ledger, LedgerConfig, NewAttempt, open_ledger
from paymentd.payments import (
    Approved,
    ChargeOutcome,
    ChargeRequest,
    Declined,
    DeclineReason,
    Failed,
    Unknown,
)
from tests.gateways import support
from tests.gateways.processor import SECRET, Processor
from tests.gateways.stripe_proxy import Recorded, StripeProxy

FAST = GatewayConfig(
    timeout_seconds=0.3, lookup_attempts=2, lookup_interval_seconds=0.05, settle_seconds=0
)


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    opened = await open_ledger(LedgerConfig(path=str(tmp_path / "ledger.sqlite3")))
    yield opened
    await opened.close()


def rest_service(ledger: Ledger, http: aiohttp.ClientSession, url: str) -> ChargingService:
    gateway = RestGateway(RestConfig(url=url, signing_secret=SECRET), http, FAST.timeout_seconds)
    return ChargingService(ledger, gateway, FAST)


def sandbox_service(ledger: Ledger, **settings: Any) -> ChargingService:
    config = SandboxConfig(**{"latency_seconds": 0.0, **settings})
    return ChargingService(ledger, SandboxGateway(config, FAST.timeout_seconds), FAST)


async def test_an_approval_is_recorded_and_the_card_dropped(ledger: Ledger) -> None:
    service = sandbox_service(ledger)
    request = support.charge_request()
    outcome = await service.charge(request)
    assert isinstance(outcome, Approved)
    assert request.card.number.wiped
    assert request.card.cvv is not None
    assert request.card.cvv.wiped
    record = await ledger.attempt(request.attempt_id)
    assert record is not None
    assert record.status is AttemptStatus.APPROVED
    assert record.confirmation_code == outcome.confirmation_code
    assert (record.gateway, record.brand, record.last4) == ("sandbox", "visa", "4242")


async def test_the_attempt_is_pending_in_the_ledger_before_the_gateway_hears_of_it(
    ledger: Ledger, http: aiohttp.ClientSession, processor: Processor
) -> None:
    seen: list[AttemptStatus] = []

    async def check_ledger(body: dict[str, Any]) -> None:
        record = await ledger.attempt(body["parameters"]["attempt_id"])
        assert record is not None
        seen.append(record.status)

    processor.on_charge = check_ledger
    outcome = await rest_service(ledger, http, processor.url).charge(support.charge_request())
    assert isinstance(outcome, Approved)
    assert seen == [AttemptStatus.PENDING]


async def test_stripe_token_is_recorded_and_card_wiped_before_the_charge(
    ledger: Ledger, http: aiohttp.ClientSession, stripe_proxy: StripeProxy
) -> None:
    request = support.charge_request()
    at_charge: list[tuple[Any, ...]] = []

    async def check(recorded: Recorded) -> None:
        if recorded.path == "/v1/payment_intents" and recorded.method == "POST":
            row = await ledger.attempt(request.attempt_id)
            assert row is not None
            at_charge.append((row.status, row.token_ref, request.card.number.wiped))
        elif recorded.path == "/v1/payment_methods":
            row = await ledger.attempt(request.attempt_id)
            assert row is not None
            at_charge.append((row.status, row.token_ref))

    stripe_proxy.on_request = check
    gateway = StripeGateway(StripeConfig(api_key="sk_test_x", api_base=stripe_proxy.url), http, 5)
    outcome = await ChargingService(ledger, gateway, FAST).charge(request)
    assert isinstance(outcome, Approved)
    token = stripe_proxy.requests[-1].form["payment_method"]
    assert at_charge == [
        (AttemptStatus.PENDING, None),
        (AttemptStatus.PENDING, token, True),
    ]
    record = await ledger.attempt(request.attempt_id)
    assert record is not None
    assert (record.status, record.token_ref, record.gateway) == (
        AttemptStatus.APPROVED,
        token,
        "stripe",
    )


async def test_a_decline_is_recorded_with_its_reason(ledger: Ledger) -> None:
    request = support.charge_request(support.INCORRECT_CVC)
    outcome = await sandbox_service(ledger).charge(request)
    assert outcome == Declined(DeclineReason.INCORRECT_CVC, "incorrect_cvc")
    record = await ledger.attempt(request.attempt_id)
    assert record is not None
    assert (record.status, record.decline_reason, record.raw_code) == (
        AttemptStatus.DECLINED,
        "incorrect_cvc",
        "incorrect_cvc",
    )
    assert request.card.number.wiped


async def test_a_timeout_is_resolved_by_lookup_with_the_same_key(
    ledger: Ledger, http: aiohttp.ClientSession, processor: Processor
) -> None:
    processor.delay = 1.0
    request = support.charge_request()
    outcome = await rest_service(ledger, http, processor.url).charge(request)
    assert isinstance(outcome, Approved)
    assert processor.charged == [request.idempotency_key]
    assert len(processor.requests) == 1  # looked up, never sent again
    record = await ledger.attempt(request.attempt_id)
    assert record is not None
    assert record.status is AttemptStatus.APPROVED


async def test_an_outcome_that_stays_unknown_is_flagged(ledger: Ledger) -> None:
    request = support.charge_request()
    outcome = await sandbox_service(ledger, fault="timeout").charge(request)
    assert isinstance(outcome, Unknown)
    assert "the lookup found no outcome" in outcome.detail
    assert request.card.number.wiped
    (flagged,) = await ledger.unresolved()
    assert flagged.attempt_id == request.attempt_id
    assert (flagged.status, flagged.needs_reconciliation) == (AttemptStatus.UNKNOWN, True)


async def test_a_lost_answer_is_found_by_lookup(ledger: Ledger) -> None:
    request = support.charge_request(support.EXPIRED)
    outcome = await sandbox_service(ledger, fault="lost-answer").charge(request)
    assert outcome == Declined(DeclineReason.EXPIRED_CARD, "expired_card")


async def test_unavailable_gateway_is_a_recorded_retryable_failure(
    ledger: Ledger, http: aiohttp.ClientSession, processor: Processor
) -> None:
    processor.refuse_status = 503
    request = support.charge_request()
    assert await rest_service(ledger, http, processor.url).charge(request) == Failed(
        True, "HTTP 503"
    )
    record = await ledger.attempt(request.attempt_id)
    assert record is not None
    assert (record.status, record.detail, record.needs_reconciliation) == (
        AttemptStatus.FAILED,
        "HTTP 503",
        False,
    )


async def test_a_used_key_is_never_sent_again(
    ledger: Ledger, http: aiohttp.ClientSession, processor: Processor
) -> None:
    service = rest_service(ledger, http, processor.url)
    first = await service.charge(support.charge_request(key="pd-once"))
    again = support.charge_request(key="pd-once")
    assert await service.charge(again) == first
    assert again.card.number.wiped
    assert len(processor.requests) == 1


async def test_close_waits_for_a_charge_whose_caller_hung_up(
    ledger: Ledger, http: aiohttp.ClientSession, processor: Processor
) -> None:
    processor.delay = 0.2
    service = rest_service(ledger, http, processor.url)
    request = support.charge_request()
    call = asyncio.create_task(service.charge(request))
    await processor.received.wait()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await service.close()  # waits for the charge, which completes and is recorded
    assert processor.charged == [request.idempotency_key]
    assert request.card.number.wiped


async def test_the_charge_completes_and_is_recorded_after_a_hang_up(
    tmp_path: Path, http: aiohttp.ClientSession, processor: Processor
) -> None:
    ledger = await open_ledger(LedgerConfig(path=str(tmp_path / "l.sqlite3")))
    processor.delay = 0.2
    service = rest_service(ledger, http, processor.url)
    request = support.charge_request()
    call = asyncio.create_task(service.charge(request))
    await processor.received.wait()
    call.cancel()
    await asyncio.sleep(0.4)
    record = await ledger.attempt(request.attempt_id)
    await service.close()
    assert record is not None
    assert record.status is AttemptStatus.APPROVED


async def test_no_ledger_no_charge(
    tmp_path: Path, http: aiohttp.ClientSession, processor: Processor
) -> None:
    ledger = await open_ledger(LedgerConfig(path=str(tmp_path / "l.sqlite3")))
    await ledger.close()
    request = support.charge_request()
    outcome = await rest_service(ledger, http, processor.url).charge(request)
    assert outcome == Failed(True, "the ledger could not record the attempt")
    assert processor.requests == []
    assert request.card.number.wiped


class ExplodingGateway:
    """A gateway with a bug whose exception quotes the card."""

    name = "exploding"

    async def charge(self, request: ChargeRequest) -> ChargeOutcome:
        raise RuntimeError(f"cannot serialise {request.card.number.reveal()}")

    async def lookup(self, idempotency_key: str) -> ChargeOutcome | None:
        raise RuntimeError("lookup broke too")

    async def close(self) -> None:
        pass


async def test_a_gateway_bug_is_an_unknown_outcome_without_card_data(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    request = support.charge_request()
    outcome = await ChargingService(ledger, ExplodingGateway(), FAST).charge(request)
    assert isinstance(outcome, Unknown)
    assert "RuntimeError" in outcome.detail
    assert support.SUCCESS not in outcome.detail
    assert support.SUCCESS not in caplog.text
    record = await ledger.attempt(request.attempt_id)
    assert record is not None
    assert record.needs_reconciliation


async def test_sessions_begin_and_end_through_the_service(ledger: Ledger) -> None:
    service = sandbox_service(ledger)
    await service.begin_session("s-9", "call-9", "agent", "ACC-9", "REF-9")
    await service.charge(support.charge_request(session_id="s-9"))
    await service.end_session("s-9", "success")
    (session,) = await ledger.sessions(
        datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    )
    assert (session.session_id, session.result, session.attempts, session.mode) == (
        "s-9",
        "success",
        1,
        "agent",
    )


async def orphan_without_token(path: Path, gateway: str) -> str:
    """An attempt a dead daemon recorded as pending and never tokenized; its id."""
    dead = await open_ledger(LedgerConfig(path=str(path)))
    request = support.charge_request()
    await dead.begin_session(request.session_id, request.call_uuid, "automated")
    assert await dead.record_pending(NewAttempt.from_request(request, gateway))
    await dead.close()
    return request.attempt_id


async def test_recovery_settles_an_untokenized_stripe_attempt_without_asking_stripe(
    tmp_path: Path, http: aiohttp.ClientSession, stripe_proxy: StripeProxy
) -> None:
    path = tmp_path / "shared.sqlite3"
    attempt_id = await orphan_without_token(path, "stripe")
    ledger = await open_ledger(LedgerConfig(path=str(path)))
    gateway = StripeGateway(StripeConfig(api_key="sk_test_x", api_base=stripe_proxy.url), http, 5)
    service = ChargingService(ledger, gateway, FAST)
    try:
        report = await service.recover()
        assert report.resolved == {attempt_id: "failed"}
        record = await ledger.attempt(attempt_id)
        assert record is not None
        assert record.status is AttemptStatus.FAILED
        assert record.detail == NEVER_SENT
        # The charge is only ever sent after the token is recorded: nothing to look up.
        assert stripe_proxy.requests == []
    finally:
        await service.close()


async def test_recovery_still_looks_up_an_attempt_of_a_gateway_without_tokens(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    path = tmp_path / "shared.sqlite3"
    attempt_id = await orphan_without_token(path, "sandbox")
    service = sandbox_service(await open_ledger(LedgerConfig(path=str(path))))
    try:
        report = await service.recover()
        # The sandbox never saw it: not charged, but found out by asking.
        assert report.resolved == {attempt_id: "failed"}
        record = await service.ledger.attempt(attempt_id)
        assert record is not None
        assert record.detail == NOT_CHARGED
    finally:
        await service.close()
