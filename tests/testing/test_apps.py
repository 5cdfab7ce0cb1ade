"""Dialplan applications run through ``sendmsg``: lengths, responses, Application-UUID."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

from paymentd.testing import FreeSwitchSimulator, SoundCatalog, sounds_from
from tests.testing.conftest import HELLO, SCALE
from tests.testing.rawesl import Paymentd, Peer, execute


async def ready(sim: FreeSwitchSimulator, paymentd: Paymentd) -> Peer:
    await sim.place_call(paymentd.address)
    peer = await paymentd.peer()
    await peer.command("connect")
    await peer.command("myevents")
    await peer.command(execute("answer"))
    await peer.event("CHANNEL_EXECUTE_COMPLETE", "answer")
    return peer


def write_wav(path: Path, seconds: float, rate: int = 8000) -> None:
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(b"\0\0" * int(seconds * rate))


async def test_a_wav_plays_as_long_as_its_header_says(tmp_path: Path, paymentd: Paymentd) -> None:
    write_wav(tmp_path / "enter_card.wav", 1.5)
    write_wav(tmp_path / "wide.wav", 0.5, rate=16000)
    sim = FreeSwitchSimulator(time_scale=SCALE, sounds=sounds_from(tmp_path, strict=True))
    try:
        peer = await ready(sim, paymentd)
        loop = asyncio.get_running_loop()
        await peer.command(execute("playback", "enter_card.wav"))
        await peer.event("CHANNEL_EXECUTE", "playback")
        started = loop.time()
        done = await peer.event("CHANNEL_EXECUTE_COMPLETE", "playback")
        assert done.ev("variable_playback_samples") == "12000"
        assert done.ev("variable_playback_ms") == "1500"
        # Never early; late only by scheduling jitter, which the time scale magnifies
        # (10x: a loaded CI machine; the length itself is checked just above).
        assert 1.4 <= (loop.time() - started) / SCALE <= 15
        await peer.command(execute("playback", str(tmp_path / "wide.wav")))
        wide = await peer.event("CHANNEL_EXECUTE_COMPLETE", "playback")
        assert (wide.ev("variable_playback_samples"), wide.ev("variable_playback_ms")) == (
            "8000",
            "500",
        )
        # Strict sounds: a missing file fails as FreeSWITCH fails it, and throws away
        # the keys queued meanwhile without an event (they count in digits_dialed).
        await peer.command(execute("sleep", "60000"))
        await peer.event("CHANNEL_EXECUTE", "sleep")
        await sim.calls[0].caller.press("5")
        await peer.event("CHANNEL_EXECUTE_COMPLETE", "sleep")
        await peer.command(execute("playback", "missing.wav"))
        missing = await peer.event("CHANNEL_EXECUTE_COMPLETE", "playback")
        assert missing.ev("Application-Response") == "FILE NOT FOUND"
        assert sim.calls[0].caller.heard[-1].status == "not-found"
        assert "Can't open missing.wav" in sim.log_text()
        assert not sim.calls[0].session.channel.dtmf_queue
        assert [key.digit for key in sim.calls[0].session.channel.dtmf_log] == ["5"]
        # A break that found nothing playing does not cut the next playback short:
        # every app clears the flag as it starts (switch_core_session_exec).
        await peer.command(f"api uuid_break {sim.calls[0].uuid}")
        await peer.command(execute("playback", str(tmp_path / "wide.wav")))
        again = await peer.event("CHANNEL_EXECUTE_COMPLETE", "playback")
        assert (again.ev("Application-Response"), again.ev("variable_playback_ms")) == (
            "FILE PLAYED",
            "500",
        )
    finally:
        await sim.close()


async def test_a_relative_name_resolves_under_sound_prefix_alone(
    tmp_path: Path, paymentd: Paymentd
) -> None:
    """switch_ivr_play_file puts a relative name under ``sound_prefix`` and nowhere else."""
    (tmp_path / "base" / "ivr").mkdir(parents=True)
    (tmp_path / "voice").mkdir()
    write_wav(tmp_path / "base" / "ivr" / "thanks.wav", 0.5)
    sim = FreeSwitchSimulator(time_scale=SCALE, sounds=sounds_from(tmp_path / "base", strict=True))
    try:
        peer = await ready(sim, paymentd)
        await peer.command(execute("playback", "ivr/thanks.wav"))
        found = await peer.event("CHANNEL_EXECUTE_COMPLETE", "playback")
        assert found.ev("Application-Response") == "FILE PLAYED"
        await peer.command(f"api uuid_setvar {sim.calls[0].uuid} sound_prefix {tmp_path}/voice")
        await peer.command(execute("playback", "ivr/thanks.wav"))
        missing = await peer.event("CHANNEL_EXECUTE_COMPLETE", "playback")
        assert missing.ev("Application-Response") == "FILE NOT FOUND"
        # mod_sndfile looks in a rate directory first: <dir>/<rate>/<name>, any rate.
        (tmp_path / "voice" / "ivr" / "16000").mkdir(parents=True)
        write_wav(tmp_path / "voice" / "ivr" / "16000" / "thanks.wav", 0.5, rate=16000)
        await peer.command(execute("playback", "ivr/thanks.wav"))
        rated = await peer.event("CHANNEL_EXECUTE_COMPLETE", "playback")
        assert rated.ev("Application-Response") == "FILE PLAYED"
    finally:
        await sim.close()


async def test_streams_and_lengths_set_per_file(paymentd: Paymentd) -> None:
    sounds = SoundCatalog(durations={"digits/": 0.5, "thanks": 1.0}, default_seconds=3.0)
    sim = FreeSwitchSimulator(time_scale=SCALE, sounds=sounds)
    try:
        peer = await ready(sim, paymentd)
        cases = [
            ("file_string://digits/1.wav!digits/2.wav!thanks.wav", "2000"),
            ("silence_stream://250", "250"),
            ("anything_else.wav", "3000"),
        ]
        for arg, millis in cases:
            await peer.command(execute("playback", arg))
            done = await peer.event("CHANNEL_EXECUTE_COMPLETE", "playback")
            assert done.ev("variable_playback_ms") == millis, arg
            assert done.ev("Application-Data") == arg
    finally:
        await sim.close()


async def test_event_uuid_comes_back_as_application_uuid(
    sim: FreeSwitchSimulator, paymentd: Paymentd
) -> None:
    peer = await ready(sim, paymentd)
    uuid = "3f0c2c44-5a30-4a7e-9b14-0d3d7b9f5c11"
    await peer.command(execute("playback", HELLO, Event_UUID=uuid, Event_UUID_Name="greeting"))
    started = await peer.event("CHANNEL_EXECUTE", "playback")
    done = await peer.event("CHANNEL_EXECUTE_COMPLETE", "playback")
    for event in (started, done):
        assert event.ev("Application-UUID") == uuid
        assert event.ev("Application-UUID-Name") == "greeting"
    # Without an Event-UUID FreeSWITCH makes one up, the same on both events.
    await peer.command(execute("set", "x=1"))
    begun = await peer.event("CHANNEL_EXECUTE", "set")
    ended = await peer.event("CHANNEL_EXECUTE_COMPLETE", "set")
    assert begun.ev("Application-UUID") == ended.ev("Application-UUID") != uuid
    # The argument can travel as a body; ${variables} are expanded.
    await peer.command(execute("set", body="greeting=${x} and more"))
    await peer.event("CHANNEL_EXECUTE_COMPLETE", "set")
    assert (await peer.command("getvar greeting")).reply_text == "1 and more"


async def test_sleep_and_endless_playback(sim: FreeSwitchSimulator, paymentd: Paymentd) -> None:
    peer = await ready(sim, paymentd)
    call = sim.calls[0]
    loop = asyncio.get_running_loop()
    started = loop.time()
    await peer.command(execute("sleep", "1000"))
    await peer.event("CHANNEL_EXECUTE_COMPLETE", "sleep")
    # Never early; late only by scheduling jitter (magnified by the time scale).
    assert 0.9 <= (loop.time() - started) / SCALE <= 10
    # A key ends a sleep early (and stays queued for the next reader).
    await peer.command(execute("sleep", "60000"))
    await peer.event("CHANNEL_EXECUTE", "sleep")
    await call.caller.press("5")
    await peer.event("CHANNEL_EXECUTE_COMPLETE", "sleep")
    assert (await peer.event("DTMF")).ev("DTMF-Digit") == "5"
    # endless_playback plays until the call goes; uuid_break only restarts it.
    await peer.command(execute("endless_playback", HELLO))
    await peer.event("CHANNEL_EXECUTE", "endless_playback")
    await call.caller.wait_for_playback("hello")
    await peer.command(f"api uuid_break {call.uuid}")
    await call.caller.wait_for_playback("hello")
    await call.caller.hang_up()
    done = await peer.event("CHANNEL_EXECUTE_COMPLETE", "endless_playback")
    assert done.ev("Application-Response") == "PLAYBACK ERROR"


async def test_record_session_records_what_the_channel_plays_and_hears(
    sim: FreeSwitchSimulator, paymentd: Paymentd, tmp_path: Path
) -> None:
    peer = await ready(sim, paymentd)
    call = sim.calls[0]
    path = str(tmp_path / "call.wav")
    await peer.command(execute("record_session", path))
    await peer.event("CHANNEL_EXECUTE_COMPLETE", "record_session")
    buglist = await peer.command(f"api uuid_buglist {call.uuid}")
    assert (
        f"<function>session_record</function>\n  <target>{path}</target>" in buglist.body.decode()
    )
    await peer.command(execute("playback", HELLO))
    await peer.event("CHANNEL_EXECUTE_COMPLETE", "playback")
    (recording,) = sim.recordings
    assert [item.kind for item in recording.items] == ["prompt"]
    assert [e.get("Record-File-Path") for e in sim.bus_events("RECORD_START")] == [path]
