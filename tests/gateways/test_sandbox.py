"""The sandbox gateway: outcomes by test card, idempotency, latency and faults."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from paymentd.gateways import SandboxConfig
from paymentd.gateways.sandbox import SandboxGateway
from paymentd.payments import Approved, Declined, DeclineReason, Failed, Unknown
from tests.gateways import support


def sandbox(**settings: object) -> SandboxGateway:
    config = SandboxConfig(**{"latency_seconds": 0.0, **settings})  # type: ignore[arg-type]
    return SandboxGateway(config, timeout_seconds=0.2)


@pytest.mark.parametrize(
    ("pan", "expected"),
    [
        (support.GENERIC_DECLINE, Declined(DeclineReason.GENERIC, "card_declined")),
        (support.INCORRECT_CVC, Declined(DeclineReason.INCORRECT_CVC, "incorrect_cvc")),
        (support.EXPIRED, Declined(DeclineReason.EXPIRED_CARD, "expired_card")),
        (
            support.INSUFFICIENT_FUNDS,
            Declined(DeclineReason.INSUFFICIENT_FUNDS, "insufficient_funds"),
        ),
        (support.PROCESSING_ERROR, Failed(True, "the gateway reported processing_error")),
    ],
)
async def test_test_cards_decide_the_outcome(pan: str, expected: object) -> None:
    assert await sandbox().charge(support.charge_request(pan)) == expected


@pytest.mark.parametrize(
    "pan",
    [support.SUCCESS, support.SUCCESS_VISA_2, support.MASTERCARD, support.AMEX, support.DISCOVER],
)
async def test_other_cards_are_approved_with_a_stable_confirmation(pan: str) -> None:
    gateway = sandbox()
    request = support.charge_request(pan)
    outcome = await gateway.charge(request)
    assert isinstance(outcome, Approved)
    assert outcome.confirmation_code.startswith("SBX")
    assert len(outcome.confirmation_code) == 11
    assert await gateway.lookup(request.idempotency_key) == outcome


async def test_a_replayed_key_returns_the_first_answer_and_charges_once() -> None:
    gateway = sandbox()
    first = support.charge_request(support.SUCCESS, key="pd-same")
    replay = support.charge_request(support.GENERIC_DECLINE, key="pd-same")
    answer = await gateway.charge(first)
    assert await gateway.charge(replay) == answer
    assert [c.idempotency_key for c in await gateway.charges()] == ["pd-same"]


async def test_lookup_of_an_unknown_key_is_none() -> None:
    assert await sandbox().lookup("pd-never-sent") is None


async def test_latency_delays_the_answer() -> None:
    gateway = SandboxGateway(SandboxConfig(latency_seconds=0.15), timeout_seconds=5)
    started = time.monotonic()
    assert isinstance(await gateway.charge(support.charge_request()), Approved)
    assert time.monotonic() - started >= 0.15


async def test_fault_timeout_loses_the_request() -> None:
    gateway = sandbox(fault="timeout")
    request = support.charge_request()
    started = time.monotonic()
    outcome = await gateway.charge(request)
    assert isinstance(outcome, Unknown)
    assert time.monotonic() - started >= 0.2
    assert await gateway.lookup(request.idempotency_key) is None


async def test_fault_lost_answer_charges_but_does_not_answer() -> None:
    gateway = sandbox(fault="lost-answer")
    request = support.charge_request()
    assert isinstance(await gateway.charge(request), Unknown)
    assert isinstance(await gateway.lookup(request.idempotency_key), Approved)


async def test_latency_beyond_the_timeout_is_a_lost_answer() -> None:
    gateway = sandbox(latency_seconds=1.0)
    request = support.charge_request(support.INSUFFICIENT_FUNDS)
    assert isinstance(await gateway.charge(request), Unknown)
    assert isinstance(await gateway.lookup(request.idempotency_key), Declined)


async def test_the_state_file_keeps_charges_across_restarts(tmp_path: Path) -> None:
    state = str(tmp_path / "sandbox.sqlite3")
    request = support.charge_request(support.EXPIRED, minor=4200, currency="EUR")
    first = await sandbox(state_path=state).charge(request)
    restarted = sandbox(state_path=state)
    assert await restarted.lookup(request.idempotency_key) == first
    (charge,) = await restarted.charges()
    assert (charge.amount_minor, charge.currency, charge.last4) == (4200, "EUR", "0069")
    # The file holds no card number.
    assert support.EXPIRED.encode() not in Path(state).read_bytes()  # noqa: ASYNC240
