import datetime

import pytest

from paymentd.capture.actions import ProgressKind
from paymentd.capture.config import CaptureConfig, ExpiryConfig, FieldConfig, PostalCodeConfig
from paymentd.capture.results import Field, Result
from paymentd.payments import Approved
from paymentd.speech.utterances import Prompt, SayDigits, SayMonthYear
from tests.capture.cards import (
    AMEX,
    AMEX_CVV,
    BAD_LUHN,
    CVV,
    JCB,
    MASTERCARD,
    POSTAL_CODE,
    VISA,
)
from tests.capture.harness import AMOUNT_GIVEN, Call, key_in


def at_card_number(config: CaptureConfig | None = None, **kwargs: object) -> Call:
    call = Call(config, AMOUNT_GIVEN, **kwargs)  # type: ignore[arg-type]
    call.start()
    call.listen()
    call.press("1")
    assert call.prompt_names() == ["enter_card_number"]
    call.listen()
    return call


def test_invalid_luhn_is_refused_and_keyed_again() -> None:
    call = at_card_number()
    call.press(BAD_LUHN + "#")
    assert call.prompt_names() == ["card_number_invalid", "enter_card_number"]
    rejected = call.progress(ProgressKind.FIELD_REJECTED)[-1]
    assert (rejected.field, rejected.error, rejected.attempt) == (
        Field.CARD_NUMBER,
        "card_number_luhn_check_failed",
        1,
    )
    call.listen()
    call.press(VISA + "#")
    assert call.prompt_names() == ["you_entered", "confirm_or_reenter"]


def test_disallowed_brand_is_not_accepted() -> None:
    call = at_card_number()
    call.press(JCB + "#")
    assert call.prompt_names() == ["card_not_accepted", "enter_card_number"]
    assert call.progress(ProgressKind.FIELD_REJECTED)[-1].error == "card_not_accepted"


def test_unknown_brand_is_not_accepted() -> None:
    call = at_card_number()
    call.press("9000000000000001#")
    assert call.prompt_names() == ["card_not_accepted", "enter_card_number"]


@pytest.mark.parametrize("keys", ["42424242424#", "424242424242424#"])
def test_too_short_or_wrong_length_card_numbers(keys: str) -> None:
    call = at_card_number()
    call.press(keys)
    assert call.prompt_names() == ["card_number_invalid", "enter_card_number"]
    assert call.progress(ProgressKind.FIELD_REJECTED)[-1].error == "card_number_invalid"


def test_entry_completes_itself_at_the_brands_longest_length() -> None:
    call = at_card_number()
    call.press(MASTERCARD[:-1])
    assert call.playing is None  # still collecting
    call.press(MASTERCARD[-1])
    assert call.prompt_names() == ["you_entered", "confirm_or_reenter"]
    # The habitual "#" after a complete entry is not taken for a wrong choice.
    call.press("#")
    assert call.prompt_names() == ["you_entered", "confirm_or_reenter"]
    assert not call.progress(ProgressKind.FIELD_REJECTED)


def test_nineteen_digits_end_any_card_number() -> None:
    call = at_card_number()
    call.press("9" * 19)
    assert call.prompt_names() == ["card_number_invalid", "enter_card_number"]


def test_progress_counts_digits_without_showing_them() -> None:
    call = at_card_number()
    call.press(VISA[:5])
    counts = [p.digits_entered for p in call.progress(ProgressKind.DIGITS_ENTERED)]
    assert counts == [1, 2, 3, 4, 5]
    assert all(p.field is Field.CARD_NUMBER for p in call.progress(ProgressKind.DIGITS_ENTERED))


def test_reentry_of_the_card_number_after_2() -> None:
    call = at_card_number()
    call.press(VISA + "#")
    call.listen()
    call.press("2")
    assert call.prompt_names() == ["enter_card_number"]
    call.listen()
    call.press(MASTERCARD)
    call.listen()
    call.press("1")
    accepted = call.progress(ProgressKind.FIELD_ACCEPTED)[-1]
    assert (accepted.card_brand, accepted.card_last4) == ("mastercard", "4444")
    assert accepted.fields_remaining == (Field.EXPIRY, Field.CVV)


def test_card_number_read_back_of_the_last_four_only() -> None:
    call = at_card_number(CaptureConfig(card_number=FieldConfig(read_back="last4")))
    call.press(VISA + "#")
    assert call.utterances() == (
        Prompt("card_ending_in"),
        SayDigits("4242", sensitive=False),
        Prompt("confirm_or_reenter"),
    )


def test_card_number_without_read_back() -> None:
    call = at_card_number(CaptureConfig(card_number=FieldConfig(read_back="none")))
    call.press(VISA + "#")
    assert call.prompt_names() == ["enter_expiry"]


def at_expiry(config: CaptureConfig | None = None, pan: str = VISA) -> Call:
    call = at_card_number(config)
    call.press(pan + "#")
    call.listen()
    call.press("1")
    assert call.prompt_names() == ["enter_expiry"]
    call.listen()
    return call


def test_expiry_is_read_back_as_month_and_year() -> None:
    call = at_expiry()
    call.press("0328")
    assert call.utterances() == (
        Prompt("expiry_date_is"),
        SayMonthYear(3, 2028),
        Prompt("confirm_or_reenter"),
    )


@pytest.mark.parametrize(
    ("keys", "prompt", "error"),
    [
        ("0425", "card_expired", "card_expired"),  # call date: 2026-05-17
        ("1325", "expiry_invalid", "expiry_invalid"),
        ("0028", "expiry_invalid", "expiry_invalid"),
        ("0570", "expiry_invalid", "expiry_too_far_ahead"),
        ("0599", "card_expired", "card_expired"),  # 1999, the nearest century
        ("12#", "expiry_invalid", "expiry_invalid"),
    ],
)
def test_bad_expiry(keys: str, prompt: str, error: str) -> None:
    call = at_expiry()
    call.press(keys)
    assert call.prompt_names() == [prompt, "enter_expiry"]
    assert call.progress(ProgressKind.FIELD_REJECTED)[-1].error == error


def test_expiry_this_month_is_valid() -> None:
    call = at_expiry()
    call.press("0526")
    assert call.prompt_names() == ["expiry_date_is", "confirm_or_reenter"]


def test_expiry_date_is_the_calls_date_in_the_configured_time_zone() -> None:
    # 2026-06-01 02:00 UTC is still May 31 in New York: a card expiring 05/26 is valid there.
    late = datetime.datetime(2026, 6, 1, 2, 0, tzinfo=datetime.UTC)
    for zone, prompt in [("UTC", "card_expired"), ("America/New_York", "expiry_date_is")]:
        call = Call(CaptureConfig(time_zone=zone), AMOUNT_GIVEN, started_at=late)
        call.start()
        call.listen()
        call.press("1")
        key_in(call, VISA + "#")
        call.listen()
        call.press("0526")
        assert call.prompt_names()[0] == prompt, zone


def test_expiry_years_ahead_is_configurable() -> None:
    call = at_expiry(CaptureConfig(expiry=ExpiryConfig(max_years_ahead=5)))
    call.press("0532")
    assert call.prompt_names() == ["expiry_invalid", "enter_expiry"]


def test_reentry_of_the_expiry_after_2() -> None:
    call = at_expiry()
    call.press("0328")
    call.listen()
    call.press("2")
    assert call.prompt_names() == ["enter_expiry"]


def at_cvv(pan: str = VISA, config: CaptureConfig | None = None) -> Call:
    call = at_expiry(config, pan)
    call.press("0328")
    call.listen()
    call.press("1")
    call.listen()
    return call


def test_cvv_is_read_back_and_completes_at_the_brands_length() -> None:
    call = at_cvv()
    call.press(CVV)
    assert call.utterances() == (
        Prompt("security_code_is"),
        SayDigits(CVV),
        Prompt("confirm_or_reenter"),
    )


@pytest.mark.parametrize(("pan", "keys"), [(VISA, "12#"), (AMEX, CVV + "#")])
def test_wrong_length_cvv(pan: str, keys: str) -> None:
    call = at_cvv(pan)
    call.press(keys)
    prompt = "enter_cvv_4" if pan == AMEX else "enter_cvv_3"
    assert call.prompt_names() == ["cvv_invalid", prompt]
    assert call.progress(ProgressKind.FIELD_REJECTED)[-1].error == "cvv_invalid"


def test_reentry_of_the_cvv_after_2() -> None:
    call = at_cvv(AMEX)
    call.press(AMEX_CVV)
    call.listen()
    call.press("2")
    assert call.prompt_names() == ["enter_cvv_4"]


def test_fields_are_configured_per_brand() -> None:
    config = CaptureConfig(
        card_fields_by_brand={"amex": ("expiry", "cvv", "postal_code"), "visa": ("cvv",)}
    )
    call = at_card_number(config)
    call.press(VISA + "#")
    call.listen()
    call.press("1")
    assert call.prompt_names() == ["enter_cvv_3"]
    key_in(call, CVV)
    (request,) = call.charges
    assert request.card.expiry is None

    call = at_expiry(config, AMEX)
    key_in(call, "0328", confirm=True)
    key_in(call, AMEX_CVV)
    assert call.prompt_names() == ["enter_postal_code"]
    fields = call.progress(ProgressKind.FIELD_REQUESTED)[-1]
    assert (fields.field, fields.fields_remaining) == (Field.POSTAL_CODE, (Field.POSTAL_CODE,))
    call.listen()
    call.press(POSTAL_CODE)
    assert call.utterances()[1] == SayDigits(POSTAL_CODE)
    call.listen()
    call.press("1")
    (request,) = call.charges
    assert request.card.postal_code == POSTAL_CODE
    call.answer(Approved("Z9"))
    call.listen()
    assert call.outcome.result is Result.SUCCESS


def test_postal_code_length_is_checked() -> None:
    config = CaptureConfig(
        card_fields=("postal_code",),
        postal_code=PostalCodeConfig(min_digits=5, max_digits=9),
    )
    call = at_card_number(config)
    call.press(VISA + "#")
    call.listen()
    call.press("1")
    call.listen()
    call.press("1234#")
    assert call.prompt_names() == ["postal_code_invalid", "enter_postal_code"]
    call.listen()
    call.press("123456789")  # completes itself at the longest length
    assert call.prompt_names() == ["you_entered", "confirm_or_reenter"]


def test_fields_remaining_before_and_after_the_card_is_known() -> None:
    call = at_card_number()
    first = call.progress(ProgressKind.FIELD_REQUESTED)
    assert first[0].fields_remaining == (Field.AMOUNT, Field.CARD_NUMBER, Field.EXPIRY, Field.CVV)
    assert first[1].fields_remaining == (Field.CARD_NUMBER, Field.EXPIRY, Field.CVV)
    assert first[1].max_attempts == 3
