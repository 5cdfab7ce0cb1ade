"""The end of a call on the outbound socket: hang-up sequences, linger, notices, races."""

from __future__ import annotations

import asyncio

import pytest

from paymentd.testing import Call, FreeSwitchSimulator
from tests.testing.conftest import LONG, SCALE, make_simulator
from tests.testing.rawesl import Message, Paymentd, Peer, execute

HANGUP = "sendmsg\ncall-command: hangup\nhangup-cause: {cause}\n\n"


async def connected(sim: FreeSwitchSimulator, paymentd: Paymentd, linger: str) -> tuple[Call, Peer]:
    call = await sim.place_call(paymentd.address)
    peer = await paymentd.peer()
    await peer.command("connect")
    await peer.command("myevents")
    await peer.command(linger)
    await peer.command(execute("answer"))
    await peer.event("CHANNEL_EXECUTE_COMPLETE", "answer")
    return call, peer


def summary(messages: list[Message]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for m in messages:
        if m.event:
            detail = (
                m.ev("Application") or m.ev("Channel-State")
                if m.event_name
                in (
                    "CHANNEL_EXECUTE_COMPLETE",
                    "CHANNEL_STATE",
                )
                else ""
            )
            out.append((m.event_name or "", detail or ""))
        elif m.content_type == "text/disconnect-notice":
            out.append(("notice", m.get("Content-Disposition") or ""))
    return out


async def test_caller_hangs_up_during_a_prompt(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    call, peer = await connected(sim, paymentd, "linger 5")
    await peer.command(execute("playback", LONG))
    await peer.event("CHANNEL_EXECUTE", "playback")
    await call.caller.hang_up()
    loop = asyncio.get_running_loop()
    hangup = await peer.event("CHANNEL_HANGUP")
    hung_up_at = loop.time()
    rest = await peer.drain()
    closed_at = loop.time()
    assert hangup.ev("Hangup-Cause") == "NORMAL_CLEARING"
    assert summary(rest) == [
        ("CHANNEL_EXECUTE_COMPLETE", "playback"),
        ("CHANNEL_UNPARK", ""),
        ("CHANNEL_EXECUTE_COMPLETE", "socket"),
        ("CHANNEL_STATE", "CS_HANGUP"),
        ("CHANNEL_STATE", "CS_REPORTING"),
        ("CHANNEL_HANGUP_COMPLETE", ""),
        ("notice", "linger"),
        ("notice", "disconnect"),
    ]
    complete, socket = rest[0], rest[2]
    assert complete.ev("Application-Response") == "PLAYBACK ERROR"
    assert complete.ev("Answer-State") == "hangup"
    # The socket app's own COMPLETE repeats the last app's response.
    assert socket.ev("Application-Response") == "PLAYBACK ERROR"
    report = rest[5]
    assert report.ev("variable_hangup_cause_q850") == "16"
    assert report.ev("variable_last_app") == "playback"
    assert rest[6].get("Linger-Time") == "5"
    # FreeSWITCH closes once the whole seconds have passed: 5 to 6 s after the hang-up.
    lingered = (closed_at - hung_up_at) / SCALE
    assert 4.5 <= lingered <= 7.0, lingered
    assert call.caller.heard[-1].status == "hangup"
    await asyncio.wait_for(call.session.destroyed.wait(), 2)


async def test_nolinger_closes_right_after_the_hangup(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    call, peer = await connected(sim, paymentd, "nolinger")
    await peer.command(HANGUP.format(cause="USER_BUSY"))
    socket = await call.wait_socket_closed()
    assert socket.sent.endswith(b"See you at ClueCon! http://www.cluecon.com/\n")
    assert b"nolinger" in socket.received
    assert (await call.wait_closed()).hangup_cause == "USER_BUSY"
    rest = await peer.drain()
    assert summary(rest)[-2:] == [("CHANNEL_HANGUP_COMPLETE", ""), ("notice", "disconnect")]
    report = next(m for m in rest if m.event_name == "CHANNEL_HANGUP_COMPLETE")
    assert report.ev("Hangup-Cause") == "USER_BUSY"
    assert report.ev("variable_hangup_cause_q850") == "17"
    assert call.result().sockets[0].closed_by == "freeswitch"


async def test_linger_forever_waits_for_exit(sim: FreeSwitchSimulator, paymentd: Paymentd) -> None:
    call, peer = await connected(sim, paymentd, "linger")
    await peer.command(HANGUP.format(cause="NORMAL_CLEARING"))
    notice = await peer.next()
    while notice.content_type != "text/disconnect-notice":
        notice = await peer.next()
    assert notice.get("Linger-Time") == "-1"
    # 40 simulated seconds later the socket is still open and the channel still exists.
    assert await peer.quiet(40 * SCALE) == []
    assert not call.session.destroyed.is_set()
    assert (await peer.command("exit")).reply_text == "+OK bye"
    assert summary(await peer.drain()) == [("notice", "disconnect")]
    await asyncio.wait_for(call.session.destroyed.wait(), 2)
    assert sim.bus_events("CHANNEL_DESTROY")[-1].unique_id == call.uuid


async def test_early_linger_notice(paymentd: Paymentd) -> None:
    """Seen with bridged calls: the notice can come before the last hang-up events."""
    simulator = make_simulator(park_event="before_myevents", linger_notice="early")
    try:
        _, peer = await connected(simulator, paymentd, "linger 1")
        await peer.command(HANGUP.format(cause="NORMAL_CLEARING"))
        order = summary(await peer.drain())
        assert order[:2] == [("CHANNEL_HANGUP", ""), ("notice", "linger")]
        assert ("CHANNEL_HANGUP_COMPLETE", "") in order[2:]
    finally:
        await simulator.close()


@pytest.mark.parametrize(
    ("choice", "delivered"), [("after_myevents", True), ("before_myevents", False)]
)
async def test_the_sockets_own_park_event_is_a_race(
    choice: str, delivered: bool, paymentd: Paymentd
) -> None:
    simulator = make_simulator(park_event=choice)
    try:
        _, peer = await connected(simulator, paymentd, "linger 1")
        parks = [m for m in peer.messages if m.event_name == "CHANNEL_PARK"]
        assert bool(parks) is delivered
        # Other listeners always see it.
        assert simulator.bus_events("CHANNEL_PARK")
    finally:
        await simulator.close()


async def test_seeded_random_races_repeat(paymentd: Paymentd) -> None:
    outcomes = []
    for _ in range(2):
        simulator = make_simulator(park_event="random", seed=7)
        try:
            _, peer = await connected(simulator, paymentd, "linger 1")
            outcomes.append(any(m.event_name == "CHANNEL_PARK" for m in peer.messages))
        finally:
            await simulator.close()
    assert outcomes[0] == outcomes[1]


async def test_an_unknown_app_hangs_the_call_up(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    call, peer = await connected(sim, paymentd, "linger 1")
    assert (await peer.command(execute("nosuchapp", "x y"))).reply_text == "+OK"
    hangup = await peer.event("CHANNEL_HANGUP")
    assert hangup.ev("Hangup-Cause") == "DESTINATION_OUT_OF_ORDER"
    rest = await peer.drain()
    executed = [m for m in peer.messages if m.ev("Application") == "nosuchapp"]
    assert executed == []
    report = next(m for m in rest if m.event_name == "CHANNEL_HANGUP_COMPLETE")
    assert report.ev("variable_hangup_cause_q850") == "27"
    assert "Invalid Application nosuchapp" in sim.log_text()
    assert call.result().hangup_cause == "DESTINATION_OUT_OF_ORDER"


async def test_uuid_kill_with_a_cause(sim: FreeSwitchSimulator, paymentd: Paymentd) -> None:
    call, peer = await connected(sim, paymentd, "linger 1")
    assert (await peer.command(f"api uuid_kill {call.uuid} CALL_REJECTED")).body == b"+OK\n"
    assert (await peer.event("CHANNEL_HANGUP")).ev("Hangup-Cause") == "CALL_REJECTED"
    result = await call.wait_hangup()
    assert result.variables["hangup_cause"] == "CALL_REJECTED"
    # The caller's phone leg follows.
    await asyncio.wait_for(call.phone.hangup_complete.wait(), 2)
