import pytest

from paymentd.capture.actions import ProgressKind
from paymentd.capture.config import AmountConfig, AmountLimits, CaptureConfig
from paymentd.capture.results import Field, Result
from paymentd.speech.utterances import Prompt, SayAmount
from tests.capture.harness import AMOUNT_GIVEN, VERIFIED, Call

PARTIAL = CaptureConfig(amount=AmountConfig(allow_partial=True))


def keyed_amount_call(config: CaptureConfig | None = None) -> Call:
    call = Call(config, VERIFIED)
    call.start()
    assert call.prompt_names() == ["welcome", "enter_amount"]
    call.listen()
    return call


def test_caller_keys_an_amount_with_star_as_decimal_point() -> None:
    call = keyed_amount_call()
    call.press("125*5#")
    assert call.utterances() == (
        Prompt("you_entered"),
        SayAmount(12550, "USD"),
        Prompt("confirm_or_reenter"),
    )
    call.listen()
    call.press("1")
    assert call.prompt_names() == ["enter_card_number"]
    accepted = call.progress(ProgressKind.FIELD_ACCEPTED)[-1]
    assert (accepted.field, accepted.amount, accepted.currency) == (Field.AMOUNT, "125.50", "USD")


def test_whole_amount_without_decimal_point() -> None:
    call = keyed_amount_call()
    call.press("40#")
    assert SayAmount(4000, "USD") in call.utterances()


def test_amount_in_minor_units() -> None:
    config = CaptureConfig(amount=AmountConfig(entry="minor_units"))
    call = Call(config, VERIFIED)
    call.start()
    assert call.prompt_names() == ["welcome", "enter_amount_minor_units"]
    call.listen()
    call.press("12550#")
    assert SayAmount(12550, "USD") in call.utterances()


def test_minor_units_star_still_cancels() -> None:
    config = CaptureConfig(amount=AmountConfig(entry="minor_units"))
    call = Call(config, VERIFIED)
    call.start()
    call.listen()
    call.press("12*")
    call.listen()
    assert call.outcome.result is Result.CALLER_CANCELLED


def test_amount_ends_after_the_inter_digit_timeout() -> None:
    call = keyed_amount_call()
    call.press("75")
    call.wait(4.9)
    assert call.playing is None
    call.wait(0.2)
    assert SayAmount(7500, "USD") in call.utterances()


def test_japanese_yen_has_no_decimals() -> None:
    config = CaptureConfig(
        currencies=("USD", "JPY"),
        amount=AmountConfig(limits={"JPY": AmountLimits(min="100", max="500000")}),
    )
    call = Call(config, {**VERIFIED, "paymentd_currency": "JPY"})
    call.start()
    call.listen()
    call.press("1250#")
    assert SayAmount(1250, "JPY") in call.utterances()
    call.listen()
    call.press("2")
    call.listen()
    call.press("12*5#")
    assert call.prompt_names() == ["amount_invalid", "enter_amount"]


@pytest.mark.parametrize(
    ("keys", "said"),
    [
        ("0*5#", [Prompt("amount_below_minimum"), SayAmount(100, "USD")]),
        ("10001#", [Prompt("amount_above_maximum"), SayAmount(1000000, "USD")]),
        ("1*234#", [Prompt("amount_invalid")]),
        ("1*2*3#", [Prompt("amount_invalid")]),
    ],
)
def test_amount_out_of_bounds_is_explained_and_keyed_again(keys: str, said: list[object]) -> None:
    call = keyed_amount_call()
    call.press(keys)
    assert list(call.utterances()) == [*said, Prompt("enter_amount")]
    rejected = call.progress(ProgressKind.FIELD_REJECTED)[-1]
    assert rejected.attempt == 1
    call.listen()
    call.press("20#")
    call.listen()
    call.press("1")
    assert call.prompt_names() == ["enter_card_number"]
    requested = call.progress(ProgressKind.FIELD_REQUESTED)
    assert [p.attempt for p in requested if p.field is Field.AMOUNT] == [1, 2]


def test_reentering_the_amount_after_2() -> None:
    call = keyed_amount_call()
    call.press("30#")
    call.listen()
    call.press("2")
    assert call.prompt_names() == ["enter_amount"]
    call.listen()
    call.press("31#")
    call.listen()
    call.press("1")
    call.listen()
    assert call.progress(ProgressKind.FIELD_ACCEPTED)[-1].amount == "31.00"


def test_given_amount_is_announced_and_confirmed() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    call.start()
    assert call.prompt_names() == ["welcome", "amount_due_is", "press_1_to_pay_amount"]
    call.listen()
    call.press("2")  # not a choice without partial payments
    assert call.prompt_names() == ["invalid_choice", "amount_due_is", "press_1_to_pay_amount"]
    call.listen()
    call.press("1")
    assert call.prompt_names() == ["enter_card_number"]


def test_partial_payment_full_amount() -> None:
    call = Call(PARTIAL, AMOUNT_GIVEN)
    call.start()
    assert call.prompt_names() == ["welcome", "amount_due_is", "pay_full_or_other"]
    call.listen()
    call.press("1")
    assert call.progress(ProgressKind.FIELD_ACCEPTED)[-1].amount == "125.50"


def test_partial_payment_other_amount_is_capped_by_the_balance() -> None:
    call = Call(PARTIAL, AMOUNT_GIVEN)
    call.start()
    call.listen()
    call.press("2")
    assert call.prompt_names() == ["enter_amount"]
    call.listen()
    call.press("200#")
    assert list(call.utterances()) == [
        Prompt("amount_above_balance"),
        SayAmount(12550, "USD"),
        Prompt("enter_amount"),
    ]
    call.listen()
    call.press("50#")
    call.listen()
    call.press("1")
    assert call.progress(ProgressKind.FIELD_ACCEPTED)[-1].amount == "50.00"


def test_amount_without_read_back_is_taken_as_keyed() -> None:
    config = CaptureConfig(amount=AmountConfig(read_back="none"))
    call = keyed_amount_call(config)
    call.press("30#")
    assert call.prompt_names() == ["enter_card_number"]


def test_too_many_bad_amounts() -> None:
    call = keyed_amount_call()
    for _ in range(3):
        call.press("0#")
        call.listen()
    assert call.outcome.result is Result.TOO_MANY_FAILED_ATTEMPTS
    assert call.variables["paymentd_result"] == "too-many-failed-attempts"
    assert call.variables["paymentd_error_type"] == "amount_below_minimum"
    assert call.variables["paymentd_amount"] == ""
