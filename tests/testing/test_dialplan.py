"""The dialplan around the socket: what happens when paymentd lets go of the call."""

from __future__ import annotations

import asyncio

from paymentd.testing import Action, Extension, FreeSwitchSimulator
from tests.testing.conftest import AFTER, HELLO, SCALE
from tests.testing.rawesl import Paymentd, Peer, execute


async def take(sim: FreeSwitchSimulator, paymentd: Paymentd, **call: object) -> tuple[Peer, str]:
    placed = await sim.place_call(paymentd.address, **call)  # type: ignore[arg-type]
    peer = await paymentd.peer()
    await peer.command("connect")
    await peer.command("myevents")
    await peer.command("linger 5")
    await peer.command(execute("answer"))
    await peer.event("CHANNEL_EXECUTE_COMPLETE", "answer")
    return peer, placed.uuid


async def test_closing_the_socket_hangs_up_when_socket_was_the_last_action(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    call = await sim.place_call(paymentd.address)
    peer = await paymentd.peer()
    await peer.command("connect")
    await peer.command(execute("answer"))
    await asyncio.sleep(0.01)
    peer.close()
    result = await call.wait_hangup(timeout=2)
    assert result.hangup_cause == "NORMAL_CLEARING"
    assert result.sockets[0].closed_by == "peer"
    names = [
        f"{e.name}/{e.get('Application') or ''}"
        for e in sim.bus_events("ALL")
        if e.unique_id == call.uuid
    ]
    unpark = names.index("CHANNEL_UNPARK/")
    assert names[unpark : unpark + 3] == [
        "CHANNEL_UNPARK/",
        "CHANNEL_EXECUTE_COMPLETE/socket",
        "CHANNEL_HANGUP/",
    ]
    assert "has executed the last dialplan instruction" in sim.log_text()


async def test_closing_the_socket_continues_the_dialplan(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    peer, uuid = await take(sim, paymentd, extension="7780")
    call = sim.calls[-1]
    peer.close()
    result = await call.wait_hangup(timeout=3)
    assert [(a.app, a.source) for a in result.actions] == [
        ("set", "dialplan"),
        ("socket", "dialplan"),
        ("answer", "sendmsg"),
        ("log", "dialplan"),
        ("set", "dialplan"),
        ("playback", "dialplan"),
        ("hangup", "dialplan"),
    ]
    assert result.variables["after_socket"] == "reached"
    assert result.variables["before_socket"] == "yes"
    assert f"CORPUS-MARKER dialplan continued after socket on {uuid}" in sim.log_text()
    assert [p.file for p in call.caller.heard] == [AFTER]
    assert call.caller.heard[0].status == "done"


async def test_a_transfer_keeps_the_socket_in_control(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    peer, _ = await take(sim, paymentd)
    call = sim.calls[-1]
    await peer.command(execute("transfer", "7778 XML default"))
    await peer.event("CHANNEL_EXECUTE", "park")
    await peer.command(execute("playback", HELLO))
    complete = await peer.event("CHANNEL_EXECUTE_COMPLETE", "playback")
    assert complete.ev("Caller-Destination-Number") == "7778"
    assert (
        complete.ev(
            "variable_transfer_source",
        )
        is not None
    )
    # Letting go of the socket now ends the park of 7778, the last action there.
    peer.close()
    result = await call.wait_hangup(timeout=2)
    assert result.extensions == ("paymentd", "esl_park_7778")
    assert result.hangup_cause == "NORMAL_CLEARING"


async def test_socket_tries_each_target_in_turn(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    refused = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    dead_port = refused.sockets[0].getsockname()[1]
    refused.close()
    await refused.wait_closed()
    target = f"127.0.0.1:{dead_port}|127.0.0.1:{paymentd.address[1]}"
    extension = Extension("failover", "7777", [Action.socket(target)])
    call = await sim.place_call(paymentd.address, extension=extension)
    peer = await paymentd.peer()
    assert (await peer.command("connect")).get("Event-Name") == "CHANNEL_DATA"
    log = sim.log_text()
    assert f"Trying host: 127.0.0.1:{dead_port}" in log
    assert "Socket Error: " in log
    assert call.variable("socket_host") == "127.0.0.1"


async def test_paymentd_down_falls_through_to_the_next_action(sim: FreeSwitchSimulator) -> None:
    closed = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = closed.sockets[0].getsockname()[1]
    closed.close()
    await closed.wait_closed()
    extension = Extension(
        "with-fallback",
        "7777",
        [
            Action.socket(),
            Action("answer"),
            Action("playback", HELLO),
            Action("hangup", "NORMAL_CLEARING"),
        ],
    )
    call = await sim.place_call(("127.0.0.1", port), extension=extension)
    result = await call.wait_hangup(timeout=2)
    assert [a.app for a in result.actions] == ["socket", "answer", "playback", "hangup"]
    assert result.sockets == ()
    assert [p.file for p in call.caller.heard] == [HELLO]


async def test_single_channel_and_static_sockets(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    """Without ``async full``: what paymentd must refuse, as FreeSWITCH presents it."""
    await sim.place_call(paymentd.address, socket_mode="static", socket_control="")
    peer = await paymentd.peer()
    reply = await peer.command("connect")
    assert reply.raw.endswith(b"Socket-Mode: static\nControl: single-channel\n\n")
    for command in ("linger 5", "api status", "event plain ALL", "bgapi status"):
        assert (await peer.command(command)).reply_text == "-ERR command not found", command
    assert (await peer.command("myevents")).reply_text == "+OK Events Enabled"
    # A static socket runs each app inline: the reply comes when the app is done.
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await peer.command(execute("playback", HELLO))).reply_text == "+OK"
    assert (loop.time() - started) / SCALE >= 2.8


async def test_variables_of_the_call_and_the_result(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    call = await sim.place_call(
        paymentd.address,
        variables={"paymentd_amount": "12.50", "paymentd_account_id": "ACC-1"},
        caller_id=("Jane Doe", "5551234"),
    )
    peer = await paymentd.peer()
    reply = await peer.command("connect")
    await peer.command("myevents")
    names = [name for name, _ in reply.headers]
    assert dict(reply.headers)["variable_paymentd_amount"] == "12.50"
    # Set when the channel was created: before call_uuid and the socket app's own variables.
    assert names.index("variable_paymentd_account_id") < names.index("variable_call_uuid")
    assert dict(reply.headers)["Channel-Caller-ID-Name"] == "Jane%20Doe"
    await peer.command(execute("set", "paymentd_result=success"))
    await peer.event("CHANNEL_EXECUTE_COMPLETE", "set")
    await peer.command("sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n")
    result = await call.wait_hangup()
    assert result.variables["paymentd_result"] == "success"
    assert result.variables["caller_id"] == '"Jane Doe" <5551234>'
    assert [a.app for a in result.ran("set")] == ["set"]


async def test_socket_resume_left_set_resets_a_call_that_a_later_socket_moved_on(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    """mod_event_socket.c:2817-2821: a listener closing on a channel whose
    ``socket_resume`` is true sets CS_RESET; a call whose socket app has returned (a
    transfer took it on) then executes nothing more.  Without the variable the close
    only lets go of the call."""
    sim.dialplan.add(
        Extension(
            "next",
            "next",
            [
                Action("set", "next_reached=yes"),
                Action("playback", "silence_stream://500"),
                Action("set", "next_done=yes"),
                Action("hangup", "NORMAL_CLEARING"),
            ],
        )
    )
    for socket_resume in ("true", None):
        variables = {} if socket_resume is None else {"socket_resume": socket_resume}
        call = await sim.place_call(paymentd.address, variables=variables)
        peer = await paymentd.peer()
        await peer.command("connect")
        await peer.command("myevents")
        await peer.command(execute("transfer", "next XML default"))
        # Still attached after the transfer: the socket sees the new extension run.
        await peer.event("CHANNEL_EXECUTE", "playback")
        peer.close()
        await call.wait_socket_closed()
        await asyncio.sleep(0.5)
        if socket_resume:
            assert call.variable("next_done") is None
            assert not call.session.channel.down
            assert f"({call.session.channel.name}) State Change CS_EXECUTE -> CS_RESET" in (
                sim.log_text()
            )
            await call.caller.hang_up()
        else:
            result = await call.wait_hangup(timeout=5)
            assert result.variables.get("next_done") == "yes"
