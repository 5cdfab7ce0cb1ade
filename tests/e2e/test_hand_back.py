"""What paymentd leaves on the call when it hands it back.

For the capture paymentd points ``sound_prefix`` at its own voice directory, sets
``playback_terminators=none`` and diverts the call's DTMF events to its socket.
FreeSWITCH keeps all three after the socket closes: the dialplan's relative
``playback ivr/ivr-thank_you.wav`` would resolve under paymentd's directory and play
nothing (switch_ivr_play_file).  paymentd gives back the channel's own values (or
unsets them) before it leaves, keeps ``digits_dialed_filter`` (the CDR is written at
hang-up) and leaves the DTMF events diverted: a caller still keying when the capture
ends broadcasts nothing to other listeners.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import wave
from pathlib import Path

import pytest

from paymentd.ledger import LedgerConfig
from paymentd.testing import (
    Action,
    Dialplan,
    Extension,
    FreeSwitchSimulator,
    Script,
    SoundCatalog,
    when_playing,
)
from tests.e2e.charging import all_sessions, place_paying_call
from tests.e2e.conftest import dialplan
from tests.e2e.daemon import RunningDaemon
from tests.e2e.scenarios import GIVEN, confirm_all, pay_given_amount, visa_card
from tests.testing.rawesl import Paymentd, execute

pytestmark = pytest.mark.slow

THANKS = "ivr/ivr-thank_you.wav"


def write_wav(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\0\0" * int(seconds * 8000))


def shipped_dialplan() -> Dialplan:
    """As freeswitch-conf/dialplan/paymentd.xml: after ``socket``, a relative playback."""
    return Dialplan().add(
        Extension(
            "pay",
            "7300",
            [
                Action("set", "sensitive_dtmf=true"),
                Action.socket(),
                Action("unset", "sensitive_dtmf"),
                Action("playback", THANKS),
                Action("hangup", "NORMAL_CLEARING"),
            ],
        )
    )


@pytest.mark.parametrize("own_prefix", [False, True], ids=["no-own-prefix", "own-prefix"])
async def test_the_dialplan_after_socket_plays_its_own_sounds_and_keys_stay_private(
    daemon: RunningDaemon, tmp_path: Path, own_prefix: bool
) -> None:
    # FreeSWITCH's own sounds directory, and (second case) a prefix the dialplan chose.
    freeswitch_sounds = tmp_path / "freeswitch-sounds"
    write_wav(freeswitch_sounds / THANKS, 0.5)
    variables = dict(GIVEN)
    if own_prefix:
        write_wav(tmp_path / "own" / THANKS, 0.5)
        variables["sound_prefix"] = str(tmp_path / "own")
        variables["playback_terminators"] = "#"
    simulator = FreeSwitchSimulator(
        time_scale=0.02,
        dialplan=shipped_dialplan(),
        sounds=SoundCatalog(directories=[freeswitch_sounds], strict=True),
        seed=secrets.randbits(32),
    )
    try:
        call = await simulator.place_call(
            ("127.0.0.1", daemon.esl_port),
            extension="7300",
            variables=variables,
            caller=Script(
                pay_given_amount(),
                confirm_all(),
                *visa_card(),
                when_playing("ivr-thank_you").press("5"),
            ),
        )
        result = await call.wait_closed(timeout=60)
        channel = call.session.channel
    finally:
        await simulator.close()

    assert result.variables.get("paymentd_result") == "success"
    thanks = [prompt for prompt in result.prompts if prompt.file.endswith(THANKS)]
    assert [prompt.status for prompt in thanks] == ["done"], result.prompts[-3:]
    # The channel's own settings are back (or unset, as they were).
    assert result.variables.get("sound_prefix") == variables.get("sound_prefix")
    assert result.variables.get("playback_terminators") == variables.get("playback_terminators")
    # A key pressed during the dialplan's playback fired no event another listener sees:
    # it waits, diverted, for a socket session on the call that would want it.
    assert channel.divert_events
    assert simulator.bus_events("DTMF") == []
    assert [event.get("DTMF-Digit") for event in channel.session_events] == ["5"]
    # Kept: the CDR is written at hang-up.
    assert result.variables.get("digits_dialed_filter") == ".+"
    # resume's socket_resume=true is not left behind for a later socket session.
    assert "socket_resume" not in result.variables


async def test_a_later_socket_session_on_the_call_does_not_reset_it(
    daemon: RunningDaemon,
) -> None:
    """``resume`` also sets ``socket_resume=true`` on the channel, for good
    (mod_event_socket.c): any later socket session on the call would then reset the
    channel when it closes (CS_RESET), and a call it had transferred on would execute
    nothing more.  paymentd unsets it after ``resume``; its own listener's resume flag
    still continues the dialplan."""
    later = Paymentd()
    await later.start()
    simulator = FreeSwitchSimulator(
        time_scale=0.02,
        dialplan=Dialplan()
        .add(
            Extension(
                "pay",
                "7300",
                [
                    Action.socket(),
                    Action("set", "after_paymentd=reached"),
                    # Another event-socket application takes the call next.
                    Action.socket(f"127.0.0.1:{later.address[1]}"),
                    Action("hangup", "NORMAL_CLEARING"),
                ],
            )
        )
        .add(
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
        ),
        seed=secrets.randbits(32),
    )
    try:
        call = await place_paying_call(simulator, daemon)
        peer = await later.peer(timeout=60)
        await peer.command("connect")
        await peer.command(execute("transfer", "next XML default"))
        for _ in range(500):
            if call.session.channel.get_variable("next_reached"):
                break
            await asyncio.sleep(0.01)
        # The other application lets go of the call once it is in its new extension.
        peer.close()
        result = await call.wait_hangup(timeout=10)
    finally:
        await simulator.close()
        await later.close()

    assert result.variables.get("paymentd_result") == "success"
    assert result.variables.get("after_paymentd") == "reached"
    assert result.variables.get("next_done") == "yes"
    assert result.hangup_cause == "NORMAL_CLEARING"


async def test_a_hang_up_racing_the_result_variables_is_a_hang_up_not_an_error(
    daemon: RunningDaemon,
) -> None:
    """The caller hangs up just as paymentd sets the result: FreeSWITCH answers the
    ``uuid_setvar`` with ``-ERR No such channel!`` (the session cannot be locked from
    CS_HANGUP on) before paymentd has read CHANNEL_HANGUP.  That is the hang-up, not a
    FreeSWITCH refusal: nothing is logged as an error, and the approved payment stays
    the session's result."""
    simulator = FreeSwitchSimulator(time_scale=0.02, dialplan=dialplan(), seed=secrets.randbits(32))
    api = simulator.switch.api
    setvar = api.uuid_setvar

    async def hang_up_first(argument: str) -> str:
        words = argument.split(" ")
        if len(words) > 1 and words[1] == "paymentd_result":
            session = simulator.switch.locate(words[0])
            if session is not None:
                session.hangup("NORMAL_CLEARING")
        return await setvar(argument)

    api._handlers["uuid_setvar"] = hang_up_first
    try:
        call = await place_paying_call(simulator, daemon)
        result = await call.wait_closed(timeout=60)
    finally:
        await simulator.close()

    assert "paymentd_result" not in result.variables
    lines = [json.loads(line) for line in daemon.log_text().splitlines() if call.uuid in line]
    assert lines, "the daemon logged nothing for the call"
    assert [line["msg"] for line in lines if line["level"] in ("error", "critical")] == []
    sessions = await all_sessions(LedgerConfig(path=str(daemon.ledger_path)))
    assert [s.result for s in sessions if s.call_uuid == call.uuid] == ["success"]
