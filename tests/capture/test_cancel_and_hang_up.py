from collections.abc import Callable

import pytest

from paymentd.capture.actions import (
    Finished,
    Play,
    PlayHold,
    ProgressKind,
    Resume,
    SetVariables,
    StopPlayback,
)
from paymentd.capture.config import CaptureConfig
from paymentd.capture.results import Result
from paymentd.cards import CardNumber
from paymentd.payments import Approved, Declined, DeclineReason, Failed, Unknown
from tests.capture.cards import CVV, VISA
from tests.capture.harness import AMOUNT_GIVEN, VERIFIED, Call


def start(call: Call) -> None:
    call.start()


def amount_menu(call: Call) -> None:
    call.start()
    call.listen()


def card_number_prompt(call: Call) -> None:
    amount_menu(call)
    call.press("1")


def card_number_half_keyed(call: Call) -> None:
    card_number_prompt(call)
    call.listen()
    call.press(VISA[:8])


def card_number_read_back(call: Call) -> None:
    card_number_half_keyed(call)
    call.press(VISA[8:] + "#")


def expiry_entry(call: Call) -> None:
    card_number_read_back(call)
    call.listen()
    call.press("1")
    call.listen()
    call.press("03")


def cvv_read_back(call: Call) -> None:
    expiry_entry(call)
    call.press("28")
    call.listen()
    call.press("1")
    call.listen()
    call.press(CVV)


def processing(call: Call) -> None:
    cvv_read_back(call)
    call.listen()
    call.press("1")


STEPS_BEFORE_CHARGE: list[Callable[[Call], None]] = [
    start,
    amount_menu,
    card_number_prompt,
    card_number_half_keyed,
    card_number_read_back,
    expiry_entry,
    cvv_read_back,
]


@pytest.mark.parametrize("step", STEPS_BEFORE_CHARGE, ids=lambda f: f.__name__)
def test_star_cancels(step: Callable[[Call], None]) -> None:
    call = Call(variables=AMOUNT_GIVEN)
    step(call)
    interrupted = call.playing
    actions = call.press("*")
    if interrupted is not None:  # the prompt is broken at once (barge-in)
        assert actions[0] == StopPlayback(interrupted.play_id)
    heard = call.listen()
    assert call.prompt_names(heard)[-1] == "payment_cancelled"
    assert call.outcome.result is Result.CALLER_CANCELLED
    assert call.variables["paymentd_result"] == "caller-cancelled"
    assert call.variables["paymentd_error_type"] == "cancelled_by_caller"
    assert call.tail(3) == [SetVariables, Resume, Finished]
    assert not call.charges


def test_star_first_cancels_a_keyed_amount() -> None:
    call = Call(variables=VERIFIED)
    call.start()
    call.listen()
    call.press("*")
    call.listen()
    assert call.outcome.result is Result.CALLER_CANCELLED


def test_star_during_processing_cancels_nothing() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    processing(call)
    assert call.press("*") == []
    call.answer(Approved("C1"))
    call.listen()
    assert call.outcome.result is Result.SUCCESS


def test_escape_digits_are_configurable() -> None:
    call = Call(CaptureConfig(escape_digits="A"), AMOUNT_GIVEN)
    card_number_half_keyed(call)
    call.press("*")  # no longer an escape: ignored in a card number
    call.press(VISA[8:] + "#")
    assert call.prompt_names() == ["you_entered", "confirm_or_reenter"]
    call.press("A")
    call.listen()
    assert call.outcome.result is Result.CALLER_CANCELLED


def test_no_escape_at_all() -> None:
    call = Call(CaptureConfig(escape_digits=""), AMOUNT_GIVEN)
    amount_menu(call)
    call.press("*")
    assert call.prompt_names() == ["invalid_choice", "amount_due_is", "press_1_to_pay_amount"]


@pytest.mark.parametrize("step", STEPS_BEFORE_CHARGE, ids=lambda f: f.__name__)
def test_hang_up_at_every_step_before_the_charge(step: Callable[[Call], None]) -> None:
    call = Call(variables=AMOUNT_GIVEN)
    step(call)
    actions = call.hang_up()
    assert [type(a) for a in actions] == [type(call.progress()[-1]), Finished]
    assert call.outcome.result is Result.CALLER_HUNG_UP
    assert call.outcome.hung_up
    assert call.outcome.route is None
    # Nothing is set on a call that is gone, nothing more is played, nothing charged.
    assert not [a for a in call.actions if isinstance(a, SetVariables)]
    assert dict(call.outcome.variables)["paymentd_result"] == "caller-hung-up"
    assert not call.charges
    assert call.dialogue.finished
    assert call.dialogue.next_deadline() is None
    if call.playing is not None:
        assert call.finish_playback() == []
    assert call.press("1") == []


def test_hang_up_while_the_charge_is_in_flight_still_records_its_answer() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    processing(call)
    assert call.hang_up() == []
    assert not call.dialogue.finished
    assert call.dialogue.next_deadline() is None  # no hold audio for an empty line
    actions = call.answer(Approved("PAID1"))
    assert [type(a) for a in actions][-1] is Finished
    assert not [a for a in actions if isinstance(a, Play | PlayHold | SetVariables)]
    # Money moved: the result says so, even though nobody heard it.
    assert call.outcome.result is Result.SUCCESS
    assert call.outcome.confirmation_code == "PAID1"
    assert call.outcome.hung_up
    assert len(call.charges) == 1


@pytest.mark.parametrize(
    ("outcome", "result"),
    [
        (Declined(DeclineReason.INSUFFICIENT_FUNDS), Result.CALLER_HUNG_UP),
        (Failed(retryable=True), Result.CALLER_HUNG_UP),
        (Unknown(), Result.UNKNOWN_OUTCOME),
    ],
)
def test_hang_up_during_the_charge_then_other_answers(
    outcome: Declined | Failed | Unknown, result: Result
) -> None:
    call = Call(variables=AMOUNT_GIVEN)
    processing(call)
    call.hang_up()
    call.answer(outcome)
    assert call.outcome.result is result
    assert len(call.charges) == 1


def test_hang_up_during_hold_audio() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    processing(call)
    call.listen()
    call.wait(10)
    assert isinstance(call.playing, PlayHold)
    call.hang_up()
    call.answer(Approved("H1"))
    assert call.outcome.result is Result.SUCCESS


def test_hang_up_during_the_success_announcement_keeps_the_success() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    processing(call)
    call.answer(Approved("S1"))
    call.finish_playback()  # processing prompt
    assert call.prompt_names() == ["payment_approved", "your_reference_is"]
    actions = call.hang_up()
    assert [type(a) for a in actions] == [Finished]
    assert call.outcome.result is Result.SUCCESS
    assert call.outcome.hung_up


def test_hang_up_after_a_decline_during_reentry() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    processing(call)
    call.answer(Declined(DeclineReason.GENERIC))
    call.listen()
    call.hang_up()
    assert call.outcome.result is Result.CALLER_HUNG_UP
    assert call.outcome.decline_count == 1
    assert call.outcome.error_type == "generic"
    assert call.progress(ProgressKind.FINISHED)[-1].result is Result.CALLER_HUNG_UP


def test_card_data_held_by_the_dialogue_is_wiped_when_it_ends() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    card_number_read_back(call)
    # Reaching into the dialogue: the number waiting for confirmation is held nowhere else.
    pending = call.dialogue._phase.value  # type: ignore[union-attr]
    assert isinstance(pending, CardNumber)
    assert pending.reveal() == VISA
    call.hang_up()
    assert pending.wiped


def test_card_data_is_wiped_after_a_success() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    processing(call)
    card, cvv = call.dialogue._card, call.dialogue._cvv
    assert card is not None
    assert cvv is not None
    call.answer(Approved("W1"))
    assert card.wiped
    assert cvv.wiped
