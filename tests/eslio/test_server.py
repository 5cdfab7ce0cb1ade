"""Edge cases of the outbound server: peers, limits, protocol errors, overflow, shutdown."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest

from paymentd.eslio import CallSession, CommandTimeout, OutboundServer
from paymentd.eslio.server import PeerAllowList, ServerObserver
from paymentd.testing import Action, Dialplan, Extension, FreeSwitchSimulator
from tests.eslio.peers import RawPeer, event, real_connect_reply

UUID = "f60af79d-0ce4-4f33-8827-93cf63d6104e"  # the Unique-ID in real_connect_reply


class Recorder(ServerObserver):
    def __init__(self) -> None:
        self.refused: list[str] = []
        self.accepted: list[str] = []
        self.failures: list[str] = []

    def connection_refused(self, peer: str) -> None:
        self.refused.append(peer)

    def connection_accepted(self, peer: str) -> None:
        self.accepted.append(peer)

    def call_failed(self, reason: str) -> None:
        self.failures.append(reason)


async def open_call(peer: RawPeer, shared_esl: Path, *, mode: bytes = b"async") -> None:
    """Play FreeSWITCH's side of connect / myevents / linger."""
    assert await peer.read_command() == b"connect"
    reply = real_connect_reply(shared_esl).replace(b"Socket-Mode: async", b"Socket-Mode: " + mode)
    peer.send(reply)
    assert await peer.read_command() == b"myevents plain"
    peer.reply("+OK Events Enabled")
    assert await peer.read_command() == b"linger 5"
    peer.reply("+OK will linger 5 seconds")


async def start(handler, **kwargs) -> OutboundServer:  # type: ignore[no-untyped-def]
    kwargs.setdefault("linger_seconds", 5)
    server = OutboundServer(handler, port=0, **kwargs)
    await server.start()
    return server


async def idle(call: CallSession) -> None:
    await call.hung_up.wait()


def test_allow_list_matches_addresses_networks_and_mapped_ipv4() -> None:
    allow = PeerAllowList(["127.0.0.1/32", "10.1.0.0/16", "::1/128"])
    assert allow.allows("127.0.0.1")
    assert allow.allows("10.1.200.3")
    assert allow.allows("::1")
    assert allow.allows("::ffff:127.0.0.1")
    assert not allow.allows("10.2.0.1")
    assert not allow.allows("192.168.1.1")
    assert not allow.allows("not-an-address")


async def test_peer_outside_allow_list_is_refused_logged_and_counted(
    caplog: pytest.LogCaptureFixture, shared_esl: Path
) -> None:
    """Refused, but the call is handed back to its dialplan: only connect and resume (and
    socket_resume unset again) are sent, then paymentd closes; the handler never runs."""
    recorder = Recorder()
    ran: list[CallSession] = []
    server = await start(ran.append, allowed_peers=["10.0.0.0/8"], observer=recorder)
    try:
        peer = await RawPeer.open(server.port)
        assert await peer.read_command() == b"connect"
        peer.send(real_connect_reply(shared_esl))
        assert await peer.read_command() == b"resume"
        peer.reply("+OK")
        assert await peer.read_command() == f"api uuid_setvar {UUID} socket_resume".encode()
        peer.send(b"Content-Type: api/response\nContent-Length: 4\n\n+OK\n")
        assert await peer.closed_by_peer(2), "a refused peer must be disconnected at once"
        peer.close()
    finally:
        await server.shutdown(1)
    assert len(recorder.refused) == 1
    assert not recorder.accepted
    assert not ran
    assert any("refused ESL connection" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("turned_away", ["refused-peer", "shutting-down"])
async def test_a_call_turned_away_goes_on_in_its_dialplan(turned_away: str) -> None:
    """Closing before ``connect`` would leave the call parked for good (the socket app
    parks once its listener is done; capture 10_outbound_silent_25s)."""
    ran: list[CallSession] = []
    allowed = ["10.0.0.0/8"] if turned_away == "refused-peer" else ["127.0.0.1/32"]
    server = await start(ran.append, allowed_peers=allowed)
    if turned_away == "shutting-down":
        # A connection accepted just before the listening socket closed.
        server._accepting = False
    sim = FreeSwitchSimulator(
        time_scale=0.02,
        dialplan=Dialplan().add(
            Extension(
                "pay",
                "7300",
                [
                    Action.socket(),
                    Action("set", "after_socket=reached"),
                    Action("hangup", "NORMAL_CLEARING"),
                ],
            )
        ),
    )
    try:
        call = await sim.place_call(("127.0.0.1", server.port), extension="7300")
        result = await call.wait_hangup(timeout=5)
        record = await call.wait_socket_closed()
    finally:
        await sim.close()
        await server.shutdown(1)
    assert result.variables.get("after_socket") == "reached"
    assert result.hangup_cause == "NORMAL_CLEARING"
    assert "socket_resume" not in result.variables
    assert not ran
    # Nothing but what hands the call back.
    assert record.received == (
        f"connect\n\nresume\n\napi uuid_setvar {call.uuid} socket_resume\n\n".encode()
    )


async def test_peer_that_never_answers_connect_is_dropped_after_the_command_timeout() -> None:
    recorder = Recorder()
    ran = []
    server = await start(lambda call: ran.append(call), command_timeout=0.3, observer=recorder)
    try:
        peer = await RawPeer.open(server.port)
        assert await peer.read_command() == b"connect"
        assert await peer.closed_by_peer(3)
        peer.close()
    finally:
        await server.shutdown(1)
    assert not ran
    assert recorder.failures == ["connect"]


async def connect_reply_with(shared_esl: Path, old: bytes, new: bytes) -> list[str]:
    """Answer ``connect`` with a real reply edited from ``old`` to ``new``; the failures seen."""
    recorder = Recorder()
    server = await start(idle, observer=recorder)
    try:
        peer = await RawPeer.open(server.port)
        assert await peer.read_command() == b"connect"
        peer.send(real_connect_reply(shared_esl).replace(old, new))
        assert await peer.closed_by_peer(3)
        peer.close()
    finally:
        await server.shutdown(1)
    return recorder.failures


async def test_static_socket_mode_is_a_configuration_error_naming_the_fix(
    shared_esl: Path, caplog: pytest.LogCaptureFixture
) -> None:
    failures = await connect_reply_with(shared_esl, b"Socket-Mode: async", b"Socket-Mode: static")
    assert failures == ["socket-mode"]
    critical = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert critical
    assert "async full" in critical[0]


async def test_single_channel_control_is_refused(shared_esl: Path) -> None:
    failures = await connect_reply_with(shared_esl, b"Control: full", b"Control: single-channel")
    assert failures == ["socket-mode"]


async def test_a_100_mb_content_length_is_refused_without_buffering_it(shared_esl: Path) -> None:
    errors: list[str] = []

    async def handler(call: CallSession) -> None:
        try:
            while True:
                await call.next_event(timeout=5)
        except Exception as exc:
            errors.append(str(exc))
            raise

    server = await start(handler)
    try:
        peer = await RawPeer.open(server.port)
        await open_call(peer, shared_esl)
        peer.send(b"Content-Length: 104857600\nContent-Type: text/event-plain\n\n" + b"x" * 65536)
        assert await peer.closed_by_peer(3)
        peer.close()
    finally:
        await server.shutdown(1)
    assert errors
    assert "exceeds the limit" in errors[0]


async def test_late_reply_after_a_timeout_never_reaches_the_next_command(
    shared_esl: Path,
) -> None:
    results: list[str] = []

    async def handler(call: CallSession) -> None:
        with pytest.raises(CommandTimeout):
            await call.api("status", timeout=0.2)
        reply = await call.api("uuid_exists x")
        results.append(reply.text)

    server = await start(handler)
    try:
        peer = await RawPeer.open(server.port)
        await open_call(peer, shared_esl)
        assert await peer.read_command() == b"api status"
        assert await peer.read_command() == b"api uuid_exists x"
        # Only now answer both, in order: the first answer belongs to the abandoned call.
        peer.send(b"Content-Type: api/response\nContent-Length: 7\n\nSTATUS\n")
        peer.send(b"Content-Type: api/response\nContent-Length: 4\n\ntrue")
        await asyncio.sleep(0.1)
        peer.close()
    finally:
        await server.shutdown(1)
    assert results == ["true"]


async def test_event_queue_overflow_hangs_the_call_up(shared_esl: Path) -> None:
    async def handler(call: CallSession) -> None:
        await asyncio.sleep(30)  # a consumer that never reads

    server = await start(handler, event_queue_size=5, command_timeout=0.5)
    try:
        peer = await RawPeer.open(server.port)
        await open_call(peer, shared_esl)
        for _ in range(6):
            peer.send(event("CHANNEL_STATE", UUID))
        hangup = await peer.read_command()
        assert b"hangup-cause: SWITCH_CONGESTION" in hangup
        peer.reply("+OK")
        assert await peer.closed_by_peer(3)
        peer.close()
    finally:
        await server.shutdown(0.1)


async def test_hangup_complete_closes_our_side_even_while_the_handler_works(
    shared_esl: Path,
) -> None:
    finished = asyncio.Event()

    async def handler(call: CallSession) -> None:
        await call.hung_up.wait()
        await asyncio.sleep(1)  # e.g. recording a late gateway answer in the ledger
        finished.set()

    server = await start(handler)
    try:
        peer = await RawPeer.open(server.port)
        await open_call(peer, shared_esl)
        peer.send(event("CHANNEL_HANGUP", UUID, Hangup_Cause="NORMAL_CLEARING"))
        peer.send(event("CHANNEL_HANGUP_COMPLETE", UUID, Hangup_Cause="NORMAL_CLEARING"))
        assert await peer.closed_by_peer(0.5), "the channel must be released promptly"
        assert not finished.is_set()
        peer.close()
        await asyncio.wait_for(finished.wait(), 3)
    finally:
        await server.shutdown(1)


async def test_execute_resolves_on_its_own_completion_and_fails_on_hangup(
    shared_esl: Path,
) -> None:
    outcome: dict[str, str] = {}

    async def handler(call: CallSession) -> None:
        complete = await call.execute("answer")
        outcome["answer"] = complete.application_response or ""
        try:
            await call.execute("playback", "/tmp/x.wav")
        except Exception as exc:
            outcome["playback"] = type(exc).__name__

    server = await start(handler)
    try:
        peer = await RawPeer.open(server.port)
        await open_call(peer, shared_esl)
        command = await peer.read_command()
        event_uuid = re.search(rb"Event-UUID: (\S+)", command).group(1).decode()  # type: ignore[union-attr]
        peer.reply("+OK")
        # A completion of some other app (no matching UUID) must not resolve it.
        peer.send(
            event("CHANNEL_EXECUTE_COMPLETE", UUID, Application="set", Application_UUID="other")
        )
        peer.send(
            event(
                "CHANNEL_EXECUTE_COMPLETE",
                UUID,
                Application="answer",
                Application_UUID=event_uuid,
                Application_Response="_none_",
            )
        )
        command = await peer.read_command()
        assert b"execute-app-name: playback" in command
        peer.reply("+OK")
        peer.send(event("CHANNEL_HANGUP", UUID, Hangup_Cause="NORMAL_CLEARING"))
        await asyncio.sleep(0.2)
        peer.close()
    finally:
        await server.shutdown(1)
    assert outcome == {"answer": "_none_", "playback": "CallHungUp"}


async def test_shutdown_lets_calls_finish_then_hangs_up_with_the_configured_cause(
    shared_esl: Path,
) -> None:
    server = await start(idle)
    peer = await RawPeer.open(server.port)
    await open_call(peer, shared_esl)
    shutdown = asyncio.create_task(server.shutdown(0.3, "SYSTEM_SHUTDOWN"))
    # New calls are not taken while shutting down.
    await asyncio.sleep(0.05)
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", server.port)
    hangup = await peer.read_command(timeout=2)
    assert b"hangup-cause: SYSTEM_SHUTDOWN" in hangup
    peer.reply("+OK")
    peer.send(event("CHANNEL_HANGUP", UUID, Hangup_Cause="SYSTEM_SHUTDOWN"))
    peer.send(event("CHANNEL_HANGUP_COMPLETE", UUID, Hangup_Cause="SYSTEM_SHUTDOWN"))
    await asyncio.wait_for(shutdown, 5)
    assert server.active_calls == 0
    peer.close()
