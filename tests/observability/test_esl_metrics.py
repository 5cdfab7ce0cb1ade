"""ESL metrics from a real outbound server and inbound client, over real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from paymentd.eslio import CallSession, InboundClient, OutboundServer
from paymentd.metrics import EslInboundMetrics, EslServerMetrics, Metrics
from paymentd.testing import FreeSwitchSimulator
from tests.eslio.peers import RawPeer, event
from tests.observability.support import CONNECT_REPLY, OK, value

Handler = Callable[[CallSession], Awaitable[None]]


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


async def start_server(metrics: Metrics, handler: Handler, **options: object) -> OutboundServer:
    server = OutboundServer(
        handler,
        port=0,
        command_timeout=2.0,
        observer=EslServerMetrics(metrics),
        **options,  # type: ignore[arg-type]
    )
    await server.start()
    return server


@pytest.fixture
async def simulator() -> AsyncIterator[FreeSwitchSimulator]:
    sim = FreeSwitchSimulator(time_scale=0.02)
    yield sim
    await sim.close()


async def test_a_refused_peer_is_counted(metrics: Metrics) -> None:
    async def never(_session: CallSession) -> None:
        raise AssertionError("a refused peer reached the handler")

    server = await start_server(metrics, never, allowed_peers=("192.0.2.0/24",))
    try:
        peer = await RawPeer.open(server.port)
        assert await peer.closed_by_peer()
        peer.close()
    finally:
        await server.shutdown(0)
    assert value(metrics, "paymentd_esl_connections_total", status="refused") == 1
    assert value(metrics, "paymentd_esl_connections_total", status="accepted") == 0
    assert value(metrics, "paymentd_esl_active_connections") == 0


async def test_commands_are_timed_and_open_calls_counted(
    metrics: Metrics, simulator: FreeSwitchSimulator
) -> None:
    open_during_call: list[float] = []

    async def handler(session: CallSession) -> None:
        open_during_call.append(value(metrics, "paymentd_esl_active_connections"))
        reply = await session.api(f"uuid_setvar {session.uuid} x 1")
        assert reply.ok
        await session.hangup()

    server = await start_server(metrics, handler)
    try:
        call = await simulator.place_call(("127.0.0.1", server.port))
        await call.wait_socket_closed()
    finally:
        await server.shutdown(1)
    assert open_during_call == [1]
    assert value(metrics, "paymentd_esl_active_connections") == 0
    assert value(metrics, "paymentd_esl_connections_total", status="accepted") == 1
    for command in ("connect", "my_events", "linger", "api", "hangup"):
        count = "paymentd_esl_command_duration_seconds_count"
        assert value(metrics, count, connection="outbound", command=command) == 1, command
    total = value(
        metrics, "paymentd_esl_command_duration_seconds_sum", connection="outbound", command="api"
    )
    assert 0 < total < 1


async def test_a_protocol_error_is_counted(metrics: Metrics) -> None:
    async def never(_session: CallSession) -> None:
        raise AssertionError("the call could not have been opened")

    server = await start_server(metrics, never)
    try:
        peer = await RawPeer.open(server.port)
        await peer.read_command()  # connect
        peer.send(b"Content-Length: twelve\n\n")
        assert await peer.closed_by_peer()
        peer.close()
    finally:
        await server.shutdown(0)
    assert value(metrics, "paymentd_esl_protocol_errors_total", connection="outbound") == 1
    assert value(metrics, "paymentd_esl_call_failures_total", reason="connect") == 1


async def test_an_event_queue_overflow_is_counted(metrics: Metrics) -> None:
    stalled = asyncio.Event()

    async def slow_consumer(session: CallSession) -> None:
        # Never reads events: the queue of 3 overflows.
        await asyncio.wait_for(session.stream.wait_closed(), 5)
        stalled.set()

    server = await start_server(metrics, slow_consumer, event_queue_size=3)
    try:
        peer = await RawPeer.open(server.port)
        for _ in range(3):  # connect, myevents, linger
            await peer.read_command()
        peer.send(CONNECT_REPLY + OK + OK)
        for _ in range(5):
            peer.send(event("CHANNEL_EXECUTE", "u-1"))
        hangup = await peer.read_command()
        assert b"SWITCH_CONGESTION" in hangup
        peer.reply("+OK")
        await asyncio.wait_for(stalled.wait(), 5)
        peer.close()
    finally:
        await server.shutdown(0)
    assert value(metrics, "paymentd_esl_event_queue_overflows_total") == 1


async def test_inbound_up_and_down(metrics: Metrics, simulator: FreeSwitchSimulator) -> None:
    inbound = await simulator.start_inbound()
    observer = EslInboundMetrics(metrics)
    client = InboundClient(
        "127.0.0.1",
        inbound.port,
        simulator.options.password,
        on_state=observer.state_changed,
        observer=observer,
        reconnect_min=5.0,
    )
    client.start()
    try:
        await client.wait_connected(5)
        assert value(metrics, "paymentd_esl_inbound_up") == 1
        reply = await client.api("status")
        assert reply.ok
        api = value(
            metrics,
            "paymentd_esl_command_duration_seconds_count",
            connection="inbound",
            command="api",
        )
        assert api == 1
        await inbound.drop_connections()
        for _ in range(200):
            if not client.connected:
                break
            await asyncio.sleep(0.01)
        assert value(metrics, "paymentd_esl_inbound_up") == 0
    finally:
        await client.close()
    assert value(metrics, "paymentd_esl_inbound_state_changes_total", state="up") == 1
    assert value(metrics, "paymentd_esl_inbound_state_changes_total", state="down") == 1
