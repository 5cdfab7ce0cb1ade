"""A recorded call (a contact centre records from the start): every recording is masked
while paymentd has the call, including one that starts meanwhile, and unmasked when
the call is handed back; a recording that cannot be masked means no capture."""

from __future__ import annotations

from pathlib import Path

import pytest

from paymentd.testing import Action, Extension, FreeSwitchSimulator, Script, when_playing
from paymentd.testing.records import PromptRecord
from tests.e2e.charging import place_paying_call
from tests.e2e.daemon import RunningDaemon
from tests.e2e.scenarios import GIVEN

pytestmark = pytest.mark.slow


def recorded_line(path: str) -> Extension:
    """The payment line of tests/e2e/conftest.py, recording the call before ``socket``."""
    return Extension(
        "recorded",
        "7310",
        [
            Action("record_session", path),
            Action("set", "sensitive_dtmf=true"),
            Action.socket(),
            Action("unset", "sensitive_dtmf"),
            Action("set", "after_socket=reached"),
            Action("hangup", "NORMAL_CLEARING"),
        ],
    )


async def test_a_recording_running_before_paymentd_is_masked_until_the_hand_back(
    daemon: RunningDaemon, simulator: FreeSwitchSimulator, tmp_path: Path
) -> None:
    path = str(tmp_path / "call.wav")
    call = await place_paying_call(simulator, daemon, recorded_line(path))
    result = await call.wait_closed(timeout=60)

    assert result.variables.get("paymentd_result") == "success"
    assert result.variables.get("after_socket") == "reached"
    (recording,) = simulator.recordings
    assert recording.path == path
    # Masked before the first prompt, unmasked once, when paymentd gave the call back.
    assert [masked for _at, masked in recording.mask_changes] == [True, False]
    assert recording.items, "the recording captured nothing at all"
    assert recording.unmasked() == []


async def test_a_recording_started_during_the_capture_is_masked_at_once(
    daemon: RunningDaemon, simulator: FreeSwitchSimulator, tmp_path: Path
) -> None:
    path = str(tmp_path / "on-demand.wav")

    class Supervisor:
        """Starts recording the call once paymentd has it (at its first prompt)."""

        started = False

        def prompt_started(self, record: PromptRecord) -> None:
            if "press_1_to_pay_amount" in record.file and not self.started:
                self.started = True
                simulator.switch.spawn(record_on_demand(record.channel_uuid))

        def prompt_stopped(self, record: PromptRecord) -> None:
            pass

        def dtmf_heard(self, digit: str) -> None:
            pass

        def hung_up(self, cause: str) -> None:
            pass

    async def record_on_demand(uuid: str) -> None:
        reply = await simulator.switch.api.execute("uuid_record", f"{uuid} start {path}")
        assert reply == "+OK Success\n"

    call = await place_paying_call(simulator, daemon, recorded_line(str(tmp_path / "call.wav")))
    call.session.observers.append(Supervisor())
    result = await call.wait_closed(timeout=60)

    assert result.variables.get("paymentd_result") == "success"
    on_demand = next(rec for rec in simulator.recordings if rec.path == path)
    assert [masked for _at, masked in on_demand.mask_changes] == [True, False]
    (masked_at, _), (unmasked_at, _) = on_demand.mask_changes
    # Masked within moments of its start, and before the card number was asked for:
    # every key and every read-back it captured since is masked.
    assert masked_at - on_demand.started < 0.5
    card_prompt = next(p for p in result.prompts if "enter_card_number" in p.file)
    assert card_prompt.started > masked_at
    captured = [item for item in on_demand.items if masked_at <= item.at < unmasked_at]
    assert {item.kind for item in captured} == {"dtmf", "prompt"}
    assert all(item.masked for item in captured)


async def test_no_capture_over_a_recording_that_cannot_be_masked(
    daemon: RunningDaemon, simulator: FreeSwitchSimulator
) -> None:
    call = await simulator.place_call(
        ("127.0.0.1", daemon.esl_port),
        variables=dict(GIVEN),
        caller=Script(when_playing("enter_card_number").hang_up()),
        extension="7300",
    )
    # A recording whose path has a space (started with a quoted argument): its path
    # cannot be given to uuid_record as one word.
    simulator.switch.media.start_recording(call.session, "/var/rec/call one.wav")
    result = await call.wait_closed(timeout=60)

    assert result.variables.get("paymentd_result") == "internal-error"
    assert result.variables.get("paymentd_error_type") == "recording_not_maskable"
    assert not any("enter_card_number" in prompt.file for prompt in result.prompts)
