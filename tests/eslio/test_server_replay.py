"""paymentd's outbound server and call session against real FreeSWITCH bytes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from paymentd.esl import Dtmf
from paymentd.eslio import CallSession, OutboundServer
from tests.eslio.replay import load_capture, replay


async def test_dtmf_call_replayed_from_a_real_capture(shared_esl: Path) -> None:
    chunks = load_capture(shared_esl / "transcripts" / "outbound_dtmf.jsonl")
    seen: dict[str, object] = {}

    async def handler(call: CallSession) -> None:
        seen["uuid"] = call.uuid
        seen["destination"] = call.channel_data.destination_number if call.channel_data else None
        answer = await call.execute("answer")
        seen["answer"] = answer.application_response
        playback = call.start_execute("playback", "tone_stream://%(500,500,440);loops=3")
        digits = []
        while len(digits) < 4:
            event = await call.next_event(timeout=5)
            if isinstance(event, Dtmf):
                digits.append(event.digit)
        complete = await call.wait_execute(playback, timeout=5)
        seen["playback"] = complete.application_response
        seen["digits"] = "".join(digits)
        await call.hangup()
        await call.hangup_complete.wait()
        seen["cause"] = call.hangup_cause

    server = OutboundServer(handler, port=0, linger_seconds=30)
    await server.start()
    try:
        sent = await asyncio.wait_for(replay(chunks, "127.0.0.1", server.port), 10)
    finally:
        await server.shutdown(1)
    assert seen == {
        "uuid": "ea946a46-584b-40f5-93ed-da6eaeba72cc",
        "destination": "7777",
        "answer": "_none_",
        "playback": "FILE PLAYED",
        "digits": "4111",
        "cause": "NORMAL_CLEARING",
    }
    assert sent[0] == b"connect"
    assert sent[1] == b"myevents plain"
    assert sent[-1].startswith(b"sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING")


@pytest.mark.parametrize("stop", [1, 2, 3, 4, 5])
async def test_peer_vanishing_after_each_command_ends_the_call_cleanly(
    shared_esl: Path, stop: int
) -> None:
    chunks = load_capture(shared_esl / "transcripts" / "outbound_dtmf.jsonl")
    outcome: list[str] = []

    async def handler(call: CallSession) -> None:
        try:
            await call.execute("answer")
            call.start_execute("playback", "tone_stream://%(500,500,440);loops=3")
            while True:
                await call.next_event(timeout=5)
        except Exception as exc:  # the handler sees a clean ESL error, nothing else
            outcome.append(type(exc).__name__)
            raise

    server = OutboundServer(handler, port=0, linger_seconds=30, command_timeout=2)
    await server.start()
    try:
        await asyncio.wait_for(replay(chunks, "127.0.0.1", server.port, stop_after_sends=stop), 10)
        for _ in range(100):
            if server.active_calls == 0:
                break
            await asyncio.sleep(0.02)
        assert server.active_calls == 0
    finally:
        await server.shutdown(1)
    # Before the call is open the handler never runs; afterwards it sees a clean ESL error.
    assert set(outcome) <= {"ConnectionLost", "CallHungUp"}
