"""The segment markers on a simulated call, hook by hook, and why the event has no Unique-ID."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from paymentd.capture.actions import SessionOutcome
from paymentd.capture.config import Route
from paymentd.capture.results import Mode, Result
from paymentd.esl import DivertEvents, SendEvent
from paymentd.eslio import CallSession, OutboundServer
from paymentd.hooks import SessionContext
from paymentd.metrics import Metrics
from paymentd.observability.segment import SEGMENT_SUBCLASS, SegmentMarker, timestamp
from paymentd.testing import FreeSwitchSimulator
from tests.eslio.peers import RawPeer
from tests.observability.support import CONNECT_REPLY, OK

SEGMENT = "CUSTOM paymentd::segment"
STARTED = datetime.datetime(2026, 11, 27, 15, 0, 1, 234567, tzinfo=datetime.UTC)


@pytest.fixture
async def simulator() -> AsyncIterator[FreeSwitchSimulator]:
    sim = FreeSwitchSimulator(time_scale=0.02)
    yield sim
    await sim.close()


async def on_a_call(
    simulator: FreeSwitchSimulator, handler: Callable[[CallSession], Awaitable[None]]
) -> dict[str, str]:
    """Run ``handler`` on one simulated call; return the channel's variables at the end."""
    done = asyncio.Event()

    async def run(session: CallSession) -> None:
        try:
            await session.command(DivertEvents(True))  # as every payment session does
            await handler(session)
            await session.hangup()
        finally:
            done.set()

    server = OutboundServer(run, port=0, command_timeout=2.0)
    await server.start()
    try:
        call = await simulator.place_call(("127.0.0.1", server.port))
        await asyncio.wait_for(done.wait(), 10)
        result = await call.wait_closed()
    finally:
        await server.shutdown(1)
    return result.variables


def context(session: CallSession) -> SessionContext:
    return SessionContext(
        session_id="sess-1",
        call_uuid=session.uuid,
        mode=Mode.AGENT,
        started_at=STARTED,
        started_monotonic=0.0,
    )


def outcome(result: Result) -> SessionOutcome:
    return SessionOutcome(
        result=result,
        session_id="sess-1",
        variables=(),
        error_type="cancelled_by_caller",
        route=Route("transfer", "queue"),
    )


def test_timestamps_are_utc_milliseconds() -> None:
    assert timestamp(STARTED) == "2026-11-27T15:00:01.234Z"
    local = STARTED.astimezone(datetime.timezone(datetime.timedelta(hours=-5)))
    assert timestamp(local) == "2026-11-27T15:00:01.234Z"


async def test_only_an_event_without_unique_id_reaches_other_listeners(
    simulator: FreeSwitchSimulator,
) -> None:
    """Captures, scenario 07: with divert_events on, sendevent with Unique-ID is queued
    to the session and comes back only to paymentd's own socket."""

    async def probe(session: CallSession) -> None:
        for label, extra in (("with", [("Unique-ID", session.uuid)]), ("without", [])):
            headers = [("Event-Subclass", SEGMENT_SUBCLASS), ("Probe", label), *extra]
            reply = await session.command(SendEvent("CUSTOM", tuple(headers)))
            assert reply.ok

    await on_a_call(simulator, probe)
    assert [e.get("Probe") for e in simulator.bus_events(SEGMENT)] == ["without"]
    assert [e.get("Probe") for e in simulator.bus_events("ALL") if e.get("Probe")] == ["without"]


async def test_start_and_end_mark_the_call(simulator: FreeSwitchSimulator) -> None:
    metrics = Metrics()
    marker = SegmentMarker(metrics)

    async def session(call: CallSession) -> None:
        await marker.session_started(context(call), call)
        await marker.session_ending(context(call), call, outcome(Result.CALLER_CANCELLED))
        await marker.session_finished(context(call), outcome(Result.CALLER_CANCELLED))

    variables = await on_a_call(simulator, session)
    assert variables["paymentd_segment_session_id"] == "sess-1"
    assert variables["paymentd_segment_mode"] == "agent"
    assert variables["paymentd_segment_start"] == "2026-11-27T15:00:01.234Z"
    assert variables["paymentd_segment_result"] == "caller-cancelled"
    start, end = simulator.bus_events(SEGMENT)
    assert start.get("Paymentd-Segment-Phase") == "start"
    assert start.get("Paymentd-Result") is None
    assert end.get("Paymentd-Segment-End") == variables["paymentd_segment_end"]
    assert end.get("Paymentd-Error-Type") == "cancelled_by_caller"
    assert end.get("Paymentd-Route") == "transfer"
    for phase in ("start", "end"):
        value = metrics.registry.get_sample_value(
            "paymentd_segment_marks_total", {"phase": phase, "outcome": "ok"}
        )
        assert value == 1


async def test_a_broken_dialogue_still_closes_its_segment(simulator: FreeSwitchSimulator) -> None:
    marker = SegmentMarker()

    async def session(call: CallSession) -> None:
        await marker.session_started(context(call), call)
        # The dialogue raised: no session_ending, only session_finished without an outcome.
        await marker.session_finished(context(call), None)

    variables = await on_a_call(simulator, session)
    assert variables["paymentd_segment_result"] == "internal-error"
    assert [e.get("Paymentd-Result") for e in simulator.bus_events(SEGMENT)] == [
        None,
        "internal-error",
    ]


async def test_a_session_that_never_started_is_not_marked(simulator: FreeSwitchSimulator) -> None:
    metrics = Metrics()
    marker = SegmentMarker(metrics)

    async def session(call: CallSession) -> None:
        # The call could not be prepared: the driver calls no session_started.
        await marker.session_ending(context(call), call, outcome(Result.INTERNAL_ERROR))

    variables = await on_a_call(simulator, session)
    assert not any(name.startswith("paymentd_segment") for name in variables)
    assert simulator.bus_events(SEGMENT) == []
    skipped = metrics.registry.get_sample_value(
        "paymentd_segment_marks_total", {"phase": "end", "outcome": "skipped"}
    )
    assert skipped == 1


async def test_a_refused_marker_is_counted_as_failed() -> None:
    metrics = Metrics()
    marker = SegmentMarker(metrics)
    marked = asyncio.Event()

    async def session(call: CallSession) -> None:
        await marker.session_started(context(call), call)
        marked.set()

    server = OutboundServer(session, port=0, command_timeout=2.0)
    await server.start()
    try:
        peer = await RawPeer.open(server.port)
        for _ in range(3):  # connect, myevents, linger
            await peer.read_command()
        peer.send(CONNECT_REPLY + OK + OK)
        for _ in range(3):  # the three uuid_setvar
            assert (await peer.read_command()).startswith(b"api uuid_setvar u-1 paymentd_segment_")
        refusal = b"-ERR No such channel!\n"
        answer = b"Content-Type: api/response\nContent-Length: %d\n\n" % len(refusal) + refusal
        peer.send(answer * 3)
        assert (await peer.read_command()).startswith(b"sendevent CUSTOM\n")
        peer.reply("+OK 5b7a2b10-0000-4000-8000-000000000000")
        await asyncio.wait_for(marked.wait(), 5)
        peer.close()
    finally:
        await server.shutdown(0)
    failed = metrics.registry.get_sample_value(
        "paymentd_segment_marks_total", {"phase": "start", "outcome": "failed"}
    )
    assert failed == 1
