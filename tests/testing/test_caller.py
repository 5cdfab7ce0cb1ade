"""The scripted caller: what it hears, what it keys, how it hangs up."""

from __future__ import annotations

import asyncio

import pytest

from paymentd.testing import CallEnded, Caller, FreeSwitchSimulator, Script, at_start, when_playing
from tests.testing.conftest import CARD, HELLO, LONG
from tests.testing.rawesl import Paymentd, Peer, execute

THANKS = "/usr/freeswitch/share/freeswitch/sounds/esl_test/thanks_8k.wav"


async def ivr(peer: Peer, *, terminators: str = "none") -> str:
    """A tiny payment IVR on the raw socket: card prompt, collect to #, thanks, hang up."""
    await peer.command("connect")
    await peer.command("myevents")
    await peer.command("divert_events on")
    await peer.command("linger 1")
    await peer.command(execute("answer"))
    await peer.command(execute("set", f"playback_terminators={terminators}"))
    await peer.command(execute("playback", CARD))
    digits = ""
    while not digits.endswith("#"):
        message = await peer.next()
        if message.event_name == "DTMF":
            if not digits:
                await peer.command(execute("break"))
            digits += message.ev("DTMF-Digit") or ""
        if message.event_name == "CHANNEL_HANGUP":
            return digits
    await peer.command(execute("playback", THANKS))
    await peer.event("CHANNEL_EXECUTE_COMPLETE", "playback")
    await peer.command("sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n")
    return digits


async def test_a_coroutine_script(sim: FreeSwitchSimulator, paymentd: Paymentd) -> None:
    async def caller(caller: Caller) -> None:
        prompt = await caller.wait_for_playback("card_prompt")
        assert prompt.status == "playing"
        await caller.pause(0.01)
        await caller.press("4111111111111111#", gap=0.002)
        await caller.wait_for_playback("thanks")
        await caller.wait_for_hangup()

    call = await sim.place_call(paymentd.address, caller=caller)
    assert await ivr(await paymentd.peer()) == "4111111111111111#"
    result = await call.wait_hangup()
    assert call.script_task is not None
    await asyncio.wait_for(call.script_task, 2)
    heard = [(p.file, p.status) for p in call.caller.heard]
    assert heard == [(CARD, "break"), (THANKS, "done")]
    assert call.caller.keyed_digits == "4111111111111111#"
    assert [k.digit for k in result.keys] == list("4111111111111111#")
    assert call.caller.heard[0].stopped is not None
    assert call.caller.heard[0].started < call.caller.keyed[0].at < call.caller.heard[1].started


async def test_a_declarative_script(sim: FreeSwitchSimulator, paymentd: Paymentd) -> None:
    script = Script(
        when_playing("nothing-plays-this").stay_silent(),
        when_playing("card_prompt").after(0.01).press("5555555555554444#", gap=0.002),
        when_playing("thanks").hang_up(),
    )
    call = await sim.place_call(paymentd.address, caller=script)
    assert await ivr(await paymentd.peer()) == "5555555555554444#"
    result = await call.wait_hangup()
    assert result.hangup_cause == "NORMAL_CLEARING"
    assert call.caller.heard[-1].file == THANKS
    # The caller hung up during the thank-you prompt: its playback ended by the hang-up.
    assert call.caller.heard[-1].status in ("hangup", "done")


async def test_hang_up_at_once(sim: FreeSwitchSimulator, paymentd: Paymentd) -> None:
    call = await sim.place_call(paymentd.address, caller=Script(at_start().hang_up()))
    result = await call.wait_hangup()
    assert result.hangup_cause == "NORMAL_CLEARING"
    assert call.caller.heard == []


async def test_rules_can_wait_for_the_end_and_repeat(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    script = Script(when_playing("hello").when_done().press("1").every_time())
    call = await sim.place_call(paymentd.address, caller=script)
    peer = await paymentd.peer()
    await peer.command("connect")
    await peer.command("myevents")
    await peer.command(execute("answer"))
    for _ in range(2):
        await peer.command(execute("playback", HELLO))
        complete = await peer.event("CHANNEL_EXECUTE_COMPLETE", "playback")
        key = await peer.event("DTMF")
        # Keyed after the prompt ended, so the prompt played in full.
        assert complete.ev("variable_playback_ms") == "2900"
        assert key.ev("DTMF-Digit") == "1"
    assert call.caller.keyed_digits == "11"


async def test_waiting_for_a_prompt_that_never_plays(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    call = await sim.place_call(paymentd.address)
    peer = await paymentd.peer()
    await peer.command("connect")
    await peer.command(execute("playback", LONG))
    await call.caller.wait_for_playback("long_prompt")
    with pytest.raises(TimeoutError, match=r"long_prompt_8k\.wav"):
        await call.caller.wait_for_playback("nothing-like-this", timeout=0.05)
    await call.caller.hang_up()
    with pytest.raises(CallEnded):
        await call.caller.wait_for_playback("nothing-like-this")
    # A silent caller keys nothing.
    assert call.caller.keyed == []
