"""Where card digits go inside FreeSWITCH, as the simulator models it (PROTOCOL.md,
"Card data on the wire"; INDEX.md scenarios 03, 04 and 13)."""

from __future__ import annotations

import asyncio

import pytest

from paymentd.testing import Call, FreeSwitchSimulator
from tests.testing.conftest import HELLO, LONG, make_simulator
from tests.testing.rawesl import Message, Paymentd, Peer, client, execute

CARD = "4111111111111111"
HANGUP = "sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n"


async def answered(
    sim: FreeSwitchSimulator,
    paymentd: Paymentd,
    *,
    divert: bool = True,
    digits_filter: str | None = ".+",
    setup: tuple[str, ...] = (),
) -> tuple[Call, Peer]:
    """A call set up the way paymentd captures cards (scenario 13)."""
    call = await sim.place_call(paymentd.address)
    peer = await paymentd.peer()
    await peer.command("connect")
    await peer.command("myevents")
    if divert:
        assert (await peer.command("divert_events on")).reply_text == "+OK events diverted"
    await peer.command("linger 1")
    if digits_filter:
        await peer.command(execute("set", f"digits_dialed_filter={digits_filter}"))
        await peer.event("CHANNEL_EXECUTE_COMPLETE", "set")
    await peer.command(execute("answer"))
    await peer.event("CHANNEL_EXECUTE_COMPLETE", "answer")
    for variable in setup:
        await peer.command(execute("set", variable))
        await peer.event("CHANNEL_EXECUTE_COMPLETE", "set")
    return call, peer


async def hang_up(peer: Peer) -> list[Message]:
    await peer.command(HANGUP)
    return await peer.drain()


def dtmf(messages: list[Message]) -> str:
    return "".join(m.ev("DTMF-Digit") or "" for m in messages if m.event_name == "DTMF")


def hangup_complete(messages: list[Message]) -> Message:
    return next(m for m in messages if m.event_name == "CHANNEL_HANGUP_COMPLETE")


async def test_divert_events_keeps_keys_on_the_socket(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    call, peer = await answered(sim, paymentd)
    await call.caller.press(f"{CARD}#", gap=0.002)
    keys = [await peer.event("DTMF") for _ in range(17)]
    assert dtmf(keys) == f"{CARD}#"
    assert keys[0].names[-3:] == ["DTMF-Digit", "DTMF-Duration", "DTMF-Source"]
    rest = await hang_up(peer)
    assert hangup_complete(rest).ev("variable_digits_dialed") == "X" * 17
    # No other listener could have seen a key: no DTMF event, no digit anywhere on the bus.
    assert sim.bus_events("DTMF") == []
    assert CARD not in sim.bus_text("ALL")
    # FreeSWITCH still logs every key at INFO (its global level is debug here).
    assert "RECV DTMF 4:2000" in sim.log_text()


async def test_without_divert_every_dtmf_listener_gets_the_keys(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    server = await sim.start_inbound()
    listener = await client(*server.address)
    await listener.next()
    await listener.command("auth ClueCon")
    await listener.command("event plain DTMF")
    call, peer = await answered(sim, paymentd, divert=False)
    await call.caller.press("12", gap=0.002)
    assert dtmf([await peer.event("DTMF"), await peer.event("DTMF")]) == "12"
    assert dtmf([await listener.event("DTMF"), await listener.event("DTMF")]) == "12"
    assert "".join(event.get("DTMF-Digit") or "" for event in sim.bus_events("DTMF")) == "12"


async def test_sensitive_dtmf_hides_keys_even_from_the_socket(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    call, peer = await answered(sim, paymentd, setup=("sensitive_dtmf=true",))
    await call.caller.press(f"{CARD}#", gap=0.002)
    await asyncio.sleep(0.05)
    rest = await hang_up(peer)
    assert dtmf(peer.messages) == ""
    assert sim.bus_events("DTMF") == []
    assert "RECV DTMF" not in sim.log_text()
    assert hangup_complete(rest).ev("variable_digits_dialed") == "none"


async def test_play_and_get_digits_puts_the_card_in_a_variable_everyone_sees(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    """Why paymentd must not collect with play_and_get_digits (scenarios 03/04)."""
    call, peer = await answered(sim, paymentd, setup=("sensitive_dtmf=true",))
    card_prompt = "/usr/freeswitch/share/freeswitch/sounds/esl_test/card_prompt_8k.wav"
    await peer.command(
        execute("play_and_get_digits", f"4 19 1 5000 # {card_prompt} {HELLO} card_digits \\d+ 3000")
    )
    await peer.event("CHANNEL_EXECUTE", "play_and_get_digits")
    await call.caller.press(f"{CARD}#", gap=0.002)
    complete = await peer.event("CHANNEL_EXECUTE_COMPLETE", "play_and_get_digits")
    assert complete.ev("variable_card_digits") == CARD
    assert (await peer.command("getvar card_digits")).reply_text == CARD
    await hang_up(peer)
    completes = sim.bus_text("CHANNEL_EXECUTE_COMPLETE")
    assert f"variable_card_digits: {CARD}" in completes
    assert f"variable_card_digits: {CARD}" in sim.bus_text("CHANNEL_HANGUP_COMPLETE")


async def test_only_the_first_run_of_digits_is_masked(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    """13g: with (\\d+) a menu key before the card leaves the card in clear."""
    call, peer = await answered(sim, paymentd, digits_filter="(\\d+)")
    await call.caller.press("2#", gap=0.002)
    await asyncio.sleep(0.02)
    await call.caller.press(f"{CARD}#", gap=0.002)
    while dtmf(peer.messages).count("#") < 2:
        await peer.next()
    rest = await hang_up(peer)
    assert hangup_complete(rest).ev("variable_digits_dialed") == f"X#{CARD}#"
    # ...and so the full card number reaches every ALL listener in the CDR variables.
    assert f"variable_digits_dialed: X#{CARD}#" in sim.bus_text("CHANNEL_HANGUP_COMPLETE")


@pytest.mark.parametrize(
    ("terminators", "keys", "stopped_by", "used"),
    [
        (None, "12*", "*", "*"),
        ("any", "4111", "4", "4"),
        ("#", "12#", "#", "#"),
        ("none", "41#*", None, None),
    ],
)
async def test_playback_terminators(
    terminators: str | None,
    keys: str,
    stopped_by: str | None,
    used: str | None,
    sim: FreeSwitchSimulator,
    paymentd: Paymentd,
) -> None:
    setup = () if terminators is None else (f"playback_terminators={terminators}",)
    call, peer = await answered(sim, paymentd, setup=setup)
    await peer.command(execute("playback", LONG))
    await peer.event("CHANNEL_EXECUTE", "playback")
    await call.caller.press(keys, gap=0.005)
    complete = await peer.event("CHANNEL_EXECUTE_COMPLETE", "playback", timeout=10)
    # FILE PLAYED whether it ended, was terminated or broken: only playback_ms tells.
    assert complete.ev("Application-Response") == "FILE PLAYED"
    assert complete.ev("variable_playback_terminator_used") == used
    if stopped_by is None:
        assert complete.ev("variable_playback_ms") == "16670"
    else:
        # Stopped early: what was read so far, in 2048 ms blocks (2048 unless the test
        # machine stalled; time is scaled 50 times).
        played = int(complete.ev("variable_playback_ms") or 0)
        assert played < 16670
        assert played % 2048 == 0
        assert call.caller.heard[-1].status == "break"
    rest = await hang_up(peer)
    assert dtmf(peer.messages) == keys
    # The key that ended the prompt rides on every later channel event.
    assert hangup_complete(rest).ev("variable_playback_terminator_used") == used


async def test_the_key_that_ends_a_prompt_comes_after_its_complete(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    """13c: the diverted DTMF goes through the session queue; the COMPLETE does not."""
    call, peer = await answered(sim, paymentd, setup=("playback_terminators=any",))
    await peer.command(execute("playback", LONG))
    await peer.event("CHANNEL_EXECUTE", "playback")
    await call.caller.press("4")
    complete = await peer.event("CHANNEL_EXECUTE_COMPLETE", "playback")
    key = await peer.next()
    assert key.event_name == "DTMF"
    assert key.ev("DTMF-Digit") == "4"
    assert int(key.ev("Event-Sequence") or 0) < int(complete.ev("Event-Sequence") or 0)


async def test_break_runs_nested_and_uuid_break_does_not_execute(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    call, peer = await answered(sim, paymentd, setup=("playback_terminators=none",))
    await peer.command(execute("playback", LONG))
    await peer.event("CHANNEL_EXECUTE", "playback")
    await peer.command(execute("break"))
    order = [await peer.next() for _ in range(3)]
    assert [(m.event_name, m.ev("Application")) for m in order] == [
        ("CHANNEL_EXECUTE", "break"),
        ("CHANNEL_EXECUTE_COMPLETE", "break"),
        ("CHANNEL_EXECUTE_COMPLETE", "playback"),
    ]
    assert int(order[2].ev("variable_playback_ms") or 0) % 2048 == 0
    await peer.command(execute("playback", LONG))
    await peer.event("CHANNEL_EXECUTE", "playback")
    assert (await peer.command(f"api uuid_break {call.uuid}")).body == b"+OK\n"
    complete = await peer.next()
    assert (complete.event_name, complete.ev("Application")) == (
        "CHANNEL_EXECUTE_COMPLETE",
        "playback",
    )
    # A later playback is not broken by a leftover flag.
    await peer.command(execute("playback", HELLO))
    done = await peer.event("CHANNEL_EXECUTE_COMPLETE", "playback")
    assert done.ev("variable_playback_ms") == "2900"


async def test_private_command_repeats_every_sendmsg_once_answered(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    call, peer = await answered(sim, paymentd)
    await peer.command(execute("playback", f"file_string://{HELLO}!digits/4.wav"))
    await peer.event("CHANNEL_EXECUTE_COMPLETE", "playback")
    await hang_up(peer)
    commands = sim.bus_events("PRIVATE_COMMAND")
    # The filter and answer were parsed before media: no PRIVATE_COMMAND for them.
    assert [event.get("execute-app-name") or event.get("call-command") for event in commands] == [
        "playback",
        "hangup",
    ]
    assert (commands[0].get("Command") or "").startswith("sendmsg\ncall-command: execute\n")
    # App arguments reach every ALL listener three ways, and the log.
    text = sim.bus_text("ALL")
    assert f"Application-Data: file_string://{HELLO}!digits/4.wav" in text
    assert f"execute-app-arg: file_string://{HELLO}!digits/4.wav" in text
    assert f"playback(file_string://{HELLO}!digits/4.wav)" in sim.log_text()
    assert call.caller.heard[0].file.startswith("file_string://")


async def test_api_events_carry_the_arguments(sim: FreeSwitchSimulator, paymentd: Paymentd) -> None:
    call, peer = await answered(sim, paymentd)
    await peer.command(f"api uuid_setvar {call.uuid} paymentd_reference R-1")
    api = sim.bus_events("API")[-1]
    assert api.get("API-Command") == "uuid_setvar"
    assert api.get("API-Command-Argument") == f"{call.uuid} paymentd_reference R-1"


async def test_log_level_notice_names_no_digit(paymentd: Paymentd) -> None:
    simulator = make_simulator(park_event="before_myevents", log_level="notice")
    try:
        call, peer = await answered(simulator, paymentd, setup=("playback_terminators=none",))
        await peer.command(execute("playback", LONG))
        await peer.event("CHANNEL_EXECUTE", "playback")
        await call.caller.press(f"{CARD}#", gap=0.002)
        await hang_up(peer)
        log = simulator.log_text()
        assert "[NOTICE]" in log
        assert "RECV DTMF" not in log
        assert "Digit " not in log
        assert "EXECUTE [depth" not in log
        assert "4111" not in log
    finally:
        await simulator.close()


async def test_keys_reach_the_socket_within_about_a_frame(paymentd: Paymentd) -> None:
    """13e: about 20 ms from the key to the DTMF event on the socket (real time here)."""
    simulator = FreeSwitchSimulator(time_scale=1.0)
    try:
        call, peer = await answered(simulator, paymentd)
        loop = asyncio.get_running_loop()
        delays = []
        for digit in "41":
            started = loop.time()
            await call.caller.press(digit)
            await peer.event("DTMF")
            delays.append(loop.time() - started)
        # A frame or two; the bound leaves room for a stalled test machine.
        assert all(0.0 <= delay <= 0.3 for delay in delays), delays
        await hang_up(peer)
    finally:
        await simulator.close()


async def test_scanning_everything_for_card_data(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    """What a leak test scans: the bus, the log and every byte paymentd sent."""
    call, peer = await answered(sim, paymentd)
    await call.caller.press(f"{CARD}#", gap=0.002)
    for _ in range(17):
        await peer.event("DTMF")
    await peer.command(execute("set", "paymentd_card_last4=1111"))
    await peer.event("CHANNEL_EXECUTE_COMPLETE", "set")
    clean = sim.everything_text()
    assert CARD not in clean
    assert "paymentd_card_last4" in clean
    # A careless command is caught everywhere it went.
    await peer.command(execute("set", f"oops={CARD}"))
    await peer.event("CHANNEL_EXECUTE_COMPLETE", "set")
    await hang_up(peer)
    assert "<<< paymentd t=" in sim.transcript_text()
    assert f"execute-app-arg: oops={CARD}" in sim.transcript_text()
    assert f"oops={CARD}" in sim.bus_text("PRIVATE_COMMAND")
    assert f"variable_oops: {CARD}" in sim.bus_text("CHANNEL_HANGUP_COMPLETE")
    assert f"[oops]=[{CARD}]" in sim.log_text()
