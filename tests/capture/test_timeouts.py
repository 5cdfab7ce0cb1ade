from paymentd.capture.actions import ProgressKind
from paymentd.capture.config import CaptureConfig, FieldConfig
from paymentd.capture.inputs import TimerExpired
from paymentd.capture.results import Field, Result
from tests.capture.cards import VISA
from tests.capture.harness import AMOUNT_GIVEN, Call


def at_card_number(config: CaptureConfig | None = None) -> Call:
    call = Call(config, AMOUNT_GIVEN)
    call.start()
    call.listen()
    call.press("1")
    call.listen()
    return call


def test_first_digit_timeout_runs_from_the_end_of_the_prompt() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    call.start()
    assert call.dialogue.next_deadline() is None  # the prompt is still playing
    call.wait(60)
    assert call.prompt_names() == ["welcome", "amount_due_is", "press_1_to_pay_amount"]
    call.listen()
    assert call.dialogue.next_deadline() == call.now + 10.0


def test_no_input_reprompts_then_gives_up() -> None:
    call = at_card_number()
    call.wait(9.9)
    assert call.playing is None
    call.wait(0.1)
    assert call.prompt_names() == ["no_input", "enter_card_number"]
    assert call.progress(ProgressKind.FIELD_REJECTED)[-1].error == "no_input"
    call.listen()
    call.wait(10)
    call.listen()
    call.wait(10)
    assert call.prompt_names() == ["too_many_attempts"]
    call.listen()
    assert call.outcome.result is Result.TOO_MANY_FAILED_ATTEMPTS
    assert call.variables["paymentd_error_type"] == "no_input"
    requested = call.progress(ProgressKind.FIELD_REQUESTED)
    assert [p.attempt for p in requested if p.field is Field.CARD_NUMBER] == [1, 2, 3]


def test_timeouts_are_per_field() -> None:
    config = CaptureConfig(
        card_number=FieldConfig(first_digit_timeout=20.0, inter_digit_timeout=2.0)
    )
    call = at_card_number(config)
    assert call.dialogue.next_deadline() == call.now + 20.0
    call.press("4")
    assert call.dialogue.next_deadline() == call.now + 2.0


def test_inter_digit_timeout_takes_a_complete_entry() -> None:
    call = at_card_number()
    call.press(VISA)  # a 16-digit Visa could go on to 19 digits: no completion yet
    assert call.playing is None
    call.wait(5)
    assert call.prompt_names() == ["you_entered", "confirm_or_reenter"]


def test_inter_digit_timeout_on_a_partial_entry_is_a_failed_attempt() -> None:
    call = at_card_number()
    call.press("4242")
    call.wait(5)
    assert call.prompt_names() == ["card_number_invalid", "enter_card_number"]


def test_each_key_restarts_the_inter_digit_timeout() -> None:
    call = at_card_number()
    for key in VISA[:8]:
        call.press(key)
        call.wait(4.5)
    assert call.playing is None


def test_no_answer_to_a_confirmation_repeats_the_read_back() -> None:
    call = at_card_number()
    call.press(VISA + "#")
    call.listen()
    call.wait(10)
    assert call.prompt_names() == ["no_input", "you_entered", "confirm_or_reenter"]
    call.listen()
    call.press("7")
    assert call.prompt_names() == ["invalid_choice", "you_entered", "confirm_or_reenter"]
    call.listen()
    call.wait(10)
    assert call.prompt_names() == ["too_many_attempts"]
    call.listen()
    assert call.outcome.result is Result.TOO_MANY_FAILED_ATTEMPTS


def test_reentries_count_towards_the_attempt_limit() -> None:
    config = CaptureConfig(card_number=FieldConfig(max_attempts=2))
    call = at_card_number(config)
    call.press(VISA + "#")
    call.listen()
    call.press("2")
    call.listen()
    call.press(VISA + "#")
    call.listen()
    call.press("2")
    call.listen()
    assert call.outcome.result is Result.TOO_MANY_FAILED_ATTEMPTS


def test_early_or_repeated_ticks_change_nothing() -> None:
    call = at_card_number()
    before = list(call.actions)
    assert call.feed(TimerExpired(call.now + 1)) == []
    assert call.actions == before
