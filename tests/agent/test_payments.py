"""A payment's event stream and the registry (ids, calls, idempotency keys, retention)."""

from __future__ import annotations

import asyncio

import pytest

from paymentd.agent.config import LegMode
from paymentd.agent.payments import (
    AgentPayment,
    IdempotencyConflict,
    PaymentParameters,
    PaymentRegistry,
    PaymentStatus,
)
from paymentd.capture.actions import Progress, ProgressKind
from paymentd.capture.results import Field, Result
from paymentd.money import Money

PARAMETERS = PaymentParameters(currency="USD", mode=LegMode.DETACH, amount=Money(12550, "USD"))


async def settle() -> None:
    """Let every ready task run."""
    for _ in range(10):
        await asyncio.sleep(0)


def payment(number: int = 1) -> AgentPayment:
    return AgentPayment(f"p-{number}", f"call-{number}", f"agent-{number}", PARAMETERS)


async def test_a_follower_gets_the_past_then_the_live_events_then_the_end() -> None:
    p = payment()
    seen: list[tuple[int, str]] = []

    async def follow() -> None:
        async for event in p.follow():
            seen.append((event.sequence, event.name))

    task = asyncio.create_task(follow())
    await settle()
    assert seen == [(1, "status")]
    p.set_status(PaymentStatus.CAPTURING)
    p.progress(Progress(ProgressKind.FIELD_REQUESTED, field=Field.CARD_NUMBER, attempt=1))
    await settle()
    assert seen == [(1, "status"), (2, "status"), (3, "progress")]
    p.finish(None, result=Result.CALLER_HUNG_UP.value)
    await asyncio.wait_for(task, 1)
    assert seen[3:] == [(4, "outcome"), (5, "status")]
    assert p.events[3].data["result"] == "caller-hung-up"
    assert p.events[4].data["status"] == "finished"


async def test_a_follower_stops_when_told_to() -> None:
    p = payment()
    stopping = asyncio.Event()
    seen = []

    async def follow() -> None:
        seen.extend([event.sequence async for event in p.follow(until=stopping)])

    task = asyncio.create_task(follow())
    await settle()
    stopping.set()
    await asyncio.wait_for(task, 1)
    assert seen == [1]


async def test_a_follower_resumes_after_the_last_event_it_saw() -> None:
    p = payment()
    p.set_status(PaymentStatus.CAPTURING)
    p.finish(None, result="internal-error", error_type="secure_extension_unreachable")
    names = [event.sequence async for event in p.follow(after=2)]
    assert names == [3, 4]


async def test_progress_is_published_as_its_masked_dictionary() -> None:
    p = payment()
    p.progress(
        Progress(
            ProgressKind.FIELD_ACCEPTED,
            field=Field.CARD_NUMBER,
            card_brand="visa",
            card_last4="4242",
        )
    )
    data = p.events[-1].data
    assert {k: v for k, v in data.items() if k not in ("payment_id", "at")} == {
        "kind": "field_accepted",
        "field": "card_number",
        "card_brand": "visa",
        "card_last4": "4242",
    }


async def test_finishing_twice_changes_nothing() -> None:
    p = payment()
    p.finish(None, result="caller-hung-up")
    count = len(p.events)
    p.finish(None, result="success")
    p.set_status(PaymentStatus.CAPTURING)
    assert len(p.events) == count
    assert p.outcome is not None
    assert p.outcome["result"] == "caller-hung-up"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_an_idempotency_key_replays_the_same_request_and_refuses_another() -> None:
    registry = PaymentRegistry(retention_seconds=10, idempotency_seconds=100, clock=Clock())
    assert registry.claim_key("desk", "k1", "fp-a") is None
    waiting = registry.claim_key("desk", "k1", "fp-a")
    assert waiting is not None
    assert not waiting.done()
    with pytest.raises(IdempotencyConflict):
        registry.claim_key("desk", "k1", "fp-b")
    # Another token has its own keys.
    assert registry.claim_key("other desk", "k1", "fp-b") is None
    p = payment()
    registry.settle_key("desk", "k1", p)
    assert await waiting is p


async def test_a_key_whose_request_failed_is_free_again() -> None:
    registry = PaymentRegistry(retention_seconds=10, idempotency_seconds=100, clock=Clock())
    assert registry.claim_key("desk", "k1", "fp-a") is None
    waiting = registry.claim_key("desk", "k1", "fp-a")
    registry.settle_key("desk", "k1", None)
    assert waiting is not None
    assert await waiting is None
    assert registry.claim_key("desk", "k1", "fp-b") is None


async def test_keys_and_finished_payments_expire() -> None:
    clock = Clock()
    registry = PaymentRegistry(retention_seconds=10, idempotency_seconds=100, clock=clock)
    p = payment()
    registry.add(p)
    registry.claim_key("desk", "k1", "fp-a")
    registry.settle_key("desk", "k1", p)
    assert registry.active_on("call-1") is p
    assert registry.active_on("agent-1") is p
    p.finish(None, result="success")
    registry.finished(p)
    assert registry.active_on("call-1") is None
    clock.now = 11
    assert registry.get("p-1") is None
    with pytest.raises(IdempotencyConflict):
        registry.claim_key("desk", "k1", "fp-b")  # the key outlives the payment's record
    clock.now = 101
    assert registry.claim_key("desk", "k1", "fp-b") is None


def test_the_stream_scan_finds_card_data_but_not_ids_and_times() -> None:
    from tests.agent.harness import CVV, EXPIRY, VISA, EventStream, card_data_in_stream

    clean = EventStream(
        raw="id: 1\nevent: progress\n",
        events=[{"event": "progress", "data": {"payment_id": f"x{CVV}", "at": EXPIRY}}],
    )
    assert card_data_in_stream(clean) == []
    leaky = EventStream(
        raw=f"data: {VISA}\n",
        events=[{"event": "outcome", "data": {"note": [f"cvv {CVV}"], "payment_id": "p"}}],
    )
    assert card_data_in_stream(leaky) == [
        f"raw: {VISA}",
        f"raw: {VISA[:-4]}",
        f"outcome.note[0]: {CVV}",
    ]
