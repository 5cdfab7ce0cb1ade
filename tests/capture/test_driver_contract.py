import datetime
import re
from pathlib import Path

import pytest

from paymentd.capture import dialogue as dialogue_module
from paymentd.capture import entries
from paymentd.capture.actions import (
    Charge,
    Finished,
    Play,
    Progress,
    ProgressKind,
    Resume,
    SetVariables,
    StopPlayback,
)
from paymentd.capture.call import CallInfo
from paymentd.capture.dialogue import UnexpectedInput
from paymentd.capture.inputs import (
    AgentCancelled,
    DigitPressed,
    InternalFailure,
    PlaybackFinished,
    Start,
)
from paymentd.capture.prompts import PROMPTS
from paymentd.capture.results import Field, Mode, Result
from paymentd.payments import Approved
from tests.capture.cards import CVV, VISA, leaks
from tests.capture.harness import AMOUNT_GIVEN, Call, pay


def at_card_number() -> Call:
    call = Call(variables=AMOUNT_GIVEN)
    call.start()
    call.listen()
    call.press("1")
    return call


def test_first_key_breaks_the_prompt_and_later_keys_do_not_repeat_it() -> None:
    call = at_card_number()
    prompt = call.playing
    assert prompt is not None
    actions = call.press("4")
    assert actions[0] == StopPlayback(prompt.play_id)
    assert not [a for a in call.press("242") if isinstance(a, StopPlayback)]


def test_keys_typed_ahead_of_the_prompt_are_kept() -> None:
    call = at_card_number()
    call.press(VISA + "#")  # the whole number while "enter card number" still plays
    assert call.stop_requested
    call.finish_playback()
    assert call.prompt_names() == ["you_entered", "confirm_or_reenter"]


def test_a_key_that_arrives_after_its_prompt_completed_is_not_lost() -> None:
    # FreeSWITCH can deliver the key that broke a prompt after the prompt's completion.
    call = at_card_number()
    prompt = call.playing
    assert prompt is not None
    call.playing = None
    call.feed(PlaybackFinished(prompt.play_id, call.now))
    call.feed(DigitPressed("4", call.now))
    call.press(VISA[1:] + "#")
    assert call.prompt_names() == ["you_entered", "confirm_or_reenter"]
    assert call.charges == []


def test_confirming_during_the_read_back_queues_the_next_prompt() -> None:
    call = at_card_number()
    call.listen()
    call.press(VISA + "#")
    read_back = call.playing
    assert read_back is not None
    actions = call.press("1")
    assert actions[0] == StopPlayback(read_back.play_id)
    assert not [a for a in actions if isinstance(a, Play)]  # one playback at a time
    call.finish_playback()
    assert call.prompt_names() == ["enter_expiry"]


def test_typing_ahead_skips_a_prompt_that_has_not_started() -> None:
    call = at_card_number()
    call.listen()
    call.press(VISA + "#")
    call.press("1")  # stops the read-back; "enter expiry" waits for it
    call.press("03")  # the caller already keys the expiry
    call.finish_playback()
    assert call.playing is None  # "enter expiry" is skipped
    call.press("28")
    assert call.prompt_names() == ["expiry_date_is", "confirm_or_reenter"]


def test_playback_finished_for_an_unknown_play_is_ignored() -> None:
    call = at_card_number()
    assert call.feed(PlaybackFinished(999, call.now)) == []


def test_inputs_before_start_or_a_second_start_are_refused() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    with pytest.raises(UnexpectedInput):
        call.feed(DigitPressed("1", call.now))
    call.start()
    with pytest.raises(UnexpectedInput):
        call.feed(Start(call.now))


def test_unknown_dtmf_keys_are_refused_without_naming_them() -> None:
    with pytest.raises(ValueError, match="not a DTMF key") as info:
        DigitPressed("x", 1.0)
    assert "x" not in str(info.value).replace("DTMF key", "")


def test_digit_input_is_masked() -> None:
    assert repr(DigitPressed("7", 1.5)) == "DigitPressed(<masked>, now=1.5)"


def test_letters_in_a_card_number_are_ignored() -> None:
    call = at_card_number()
    call.listen()
    call.press(VISA[:4] + "B" + VISA[4:] + "#")
    assert call.prompt_names() == ["you_entered", "confirm_or_reenter"]


def test_output_variables_are_set_before_the_call_leaves_and_hold_no_card_data() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    call.start()
    call.listen()
    call.press("*")
    call.listen()
    names = [name for name, _ in call.variables.items()]
    assert names == list(dialogue_module.OUTPUT_VARIABLES)
    index = next(i for i, a in enumerate(call.actions) if isinstance(a, SetVariables))
    assert index == len(call.actions) - 3


def test_progress_as_dict_is_json_ready() -> None:
    progress = Progress(
        ProgressKind.FIELD_REQUESTED,
        field=Field.CVV,
        attempt=2,
        fields_remaining=(Field.CVV, Field.POSTAL_CODE),
        result=Result.SUCCESS,
    )
    assert progress.as_dict() == {
        "kind": "field_requested",
        "field": "cvv",
        "attempt": 2,
        "fields_remaining": ["cvv", "postal_code"],
        "result": "success",
    }


def test_every_listed_prompt_is_used_by_the_dialogue() -> None:
    # The reverse direction (every prompt said is listed) is checked on every Play by the
    # test harness.
    source = Path(dialogue_module.__file__).read_text() + Path(entries.__file__).read_text()
    used = set(re.findall(r'"([a-z0-9_]+)"', source))
    used |= {"enter_cvv_3", "enter_cvv_4"}  # built from the brand's CVV length
    assert set(PROMPTS) - used == set()


def test_the_leak_scan_finds_card_data() -> None:
    assert leaks([SetVariables((("x", VISA),))])
    assert leaks([Progress(ProgressKind.FINISHED, error=f"bad {CVV}")])
    assert leaks([{"nested": [f"...{VISA[:-4]}"]}])
    assert not leaks([SetVariables((("paymentd_card_last4", VISA[-4:]),))])


def test_pound_alone_is_no_input() -> None:
    call = at_card_number()
    call.listen()
    call.press("#")
    assert call.prompt_names() == ["no_input", "enter_card_number"]


def test_the_outcome_is_available_once_finished() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    call.start()
    dialogue = call.dialogue
    assert dialogue.outcome is None
    call.hang_up()
    assert [dialogue.outcome] == [call.outcome]  # a list: the property was None before
    assert call.dialogue.session_id == "sess-1"


def test_charge_names_its_attempt() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    pay(call, VISA, cvv=CVV)
    (charge,) = [a for a in call.actions if isinstance(a, Charge)]
    assert charge.attempt_id == "sess-1-1"


def test_inputs_while_the_last_words_play_end_nothing_early() -> None:
    call = Call(variables=AMOUNT_GIVEN, mode=Mode.AGENT)
    pay(call, VISA, cvv=CVV)
    call.answer(Approved("LW1"))
    call.finish_playback()  # "processing"; the approval is being said
    assert call.feed(AgentCancelled(call.now)) == []
    assert call.press("*") == []
    assert not call.dialogue.finished
    call.listen()
    assert call.outcome.result is Result.SUCCESS


def test_internal_failure_while_the_last_words_play_leaves_at_once() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    pay(call, VISA, cvv=CVV)
    call.answer(Approved("LW2"))
    actions = call.feed(InternalFailure("playback_failed", call.now))
    assert [type(a) for a in actions] == [SetVariables, Resume, Finished]
    assert call.variables["paymentd_result"] == "success"


def test_started_at_must_carry_a_time_zone() -> None:
    with pytest.raises(ValueError, match="time zone"):
        CallInfo("u", "s", datetime.datetime(2026, 1, 1))


def test_a_call_that_could_not_be_prepared_ends_without_start() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    call.hang_up()
    assert call.outcome.result is Result.CALLER_HUNG_UP
    call = Call(variables=AMOUNT_GIVEN)
    call.feed(InternalFailure("call-setup", call.now))
    assert call.variables["paymentd_result"] == "internal-error"
    assert call.variables["paymentd_error_type"] == "call-setup"
    assert call.tail(3) == [SetVariables, Resume, Finished]
    assert call.feed(Start(call.now)) == []
