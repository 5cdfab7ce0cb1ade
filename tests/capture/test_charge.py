import pytest

from paymentd.capture.actions import (
    Charge,
    Play,
    PlayHold,
    ProgressKind,
    StopPlayback,
)
from paymentd.capture.config import CaptureConfig
from paymentd.capture.dialogue import UnexpectedInput
from paymentd.capture.inputs import ChargeAnswered
from paymentd.capture.results import Result
from paymentd.payments import Approved, Declined, DeclineReason, Failed, Unknown
from tests.capture.cards import CVV, MASTERCARD, VISA, VISA_2
from tests.capture.harness import AMOUNT_GIVEN, Call, key_in, pay


def charging(config: CaptureConfig | None = None) -> Call:
    call = Call(config, AMOUNT_GIVEN)
    pay(call, VISA, cvv=CVV)
    assert len(call.charges) == 1
    return call


def test_decline_then_success_with_a_new_card() -> None:
    call = charging()
    call.answer(Declined(DeclineReason.GENERIC))
    heard = call.listen()
    assert call.prompt_names(heard) == [
        "processing",
        "payment_declined",
        "try_another_card",
        "enter_card_number",
    ]
    declined = call.progress(ProgressKind.DECLINED)[-1]
    assert (declined.error, declined.decline_count) == ("generic", 1)
    key_in(call, MASTERCARD)
    key_in(call, "1129")
    key_in(call, CVV)
    first, second = call.charges
    assert second.card.number.reveal() == MASTERCARD
    # A new attempt: a new attempt id and idempotency key.
    assert (second.attempt_id, second.idempotency_key) == ("sess-1-2", "paymentd-sess-1-2")
    assert first.idempotency_key != second.idempotency_key
    call.answer(Approved("OK2"))
    call.listen()
    assert call.variables["paymentd_result"] == "success"
    assert call.variables["paymentd_decline_count"] == "1"
    assert call.variables["paymentd_card_last4"] == "4444"
    assert call.variables["paymentd_error_type"] == "generic"
    assert call.outcome.charge_attempts == 2


def test_incorrect_cvc_asks_for_the_cvv_only() -> None:
    call = charging()
    call.answer(Declined(DeclineReason.INCORRECT_CVC))
    heard = call.listen()
    assert call.prompt_names(heard)[-2:] == ["declined_incorrect_cvc", "enter_cvv_3"]
    key_in(call, "123")
    second = call.charges[1]
    assert second.card.number.reveal() == VISA
    assert second.card.cvv.reveal() == "123"  # type: ignore[union-attr]
    assert second.card.expiry is not None


def test_expired_card_asks_for_the_expiry_only() -> None:
    call = charging()
    call.answer(Declined(DeclineReason.EXPIRED_CARD))
    heard = call.listen()
    assert call.prompt_names(heard)[-2:] == ["declined_expired", "enter_expiry"]
    key_in(call, "0131")
    second = call.charges[1]
    assert second.card.number.reveal() == VISA
    assert second.card.cvv.reveal() == CVV  # type: ignore[union-attr]
    assert second.card.expiry.year == 2031  # type: ignore[union-attr]


def test_incorrect_cvc_without_a_cvv_field_asks_for_another_card() -> None:
    call = Call(CaptureConfig(card_fields=("expiry",)), AMOUNT_GIVEN)
    pay(call, VISA)
    call.answer(Declined(DeclineReason.INCORRECT_CVC))
    heard = call.listen()
    assert call.prompt_names(heard)[-2:] == ["try_another_card", "enter_card_number"]


@pytest.mark.parametrize(
    ("reason", "prompt"),
    [
        (DeclineReason.GENERIC, "payment_declined"),
        (DeclineReason.INSUFFICIENT_FUNDS, "declined_insufficient_funds"),
        (DeclineReason.INVALID_NUMBER, "declined_invalid_number"),
        (DeclineReason.CARD_NOT_SUPPORTED, "declined_card_not_supported"),
        (DeclineReason.DO_NOT_HONOR, "payment_declined"),
        (DeclineReason.FRAUD_SUSPECTED, "payment_declined"),
    ],
)
def test_other_declines_ask_for_another_card(reason: DeclineReason, prompt: str) -> None:
    call = charging()
    call.answer(Declined(reason))
    heard = call.listen()
    assert call.prompt_names(heard)[1:] == [prompt, "try_another_card", "enter_card_number"]
    key_in(call, VISA_2 + "#")
    assert call.prompt_names() == ["enter_expiry"]  # every field again for the new card


def test_max_declines() -> None:
    call = charging()
    for number, card in enumerate([VISA_2, MASTERCARD], start=1):
        call.answer(Declined(DeclineReason.INSUFFICIENT_FUNDS))
        call.listen()
        assert call.progress(ProgressKind.DECLINED)[-1].decline_count == number
        key_in(call, card if card == MASTERCARD else card + "#")
        key_in(call, "0330")
        key_in(call, CVV)
    call.answer(Declined(DeclineReason.DO_NOT_HONOR))
    heard = call.listen()
    assert call.prompt_names(heard)[-2:] == ["payment_declined", "max_declines"]
    assert call.outcome.result is Result.DECLINED
    assert call.variables["paymentd_result"] == "declined"
    assert call.variables["paymentd_decline_count"] == "3"
    assert call.variables["paymentd_error_type"] == "do_not_honor"
    assert len(call.charges) == 3


def test_max_declines_is_configurable() -> None:
    call = charging(CaptureConfig(max_declines=1))
    call.answer(Declined(DeclineReason.GENERIC))
    call.listen()
    assert call.outcome.result is Result.DECLINED


def test_unknown_outcome_is_told_honestly() -> None:
    call = charging()
    call.answer(Unknown("timeout"))
    heard = call.listen()
    assert call.prompt_names(heard)[-1] == "outcome_unknown"
    assert call.variables["paymentd_result"] == "unknown-outcome"
    assert call.variables["paymentd_error_type"] == "outcome_unknown"
    assert len(call.charges) == 1  # never retried with a new key


def test_connector_error() -> None:
    call = charging()
    call.answer(Failed(retryable=False, detail="auth"))
    heard = call.listen()
    assert call.prompt_names(heard)[-1] == "payment_connector_error"
    assert call.variables["paymentd_result"] == "payment-connector-error"
    assert call.variables["paymentd_error_type"] == "gateway_failed"


def test_slow_gateway_gets_hold_audio_until_the_answer() -> None:
    call = charging()
    assert call.dialogue.next_deadline() == call.now + 4.0
    call.wait(3)
    call.finish_playback()  # "processing" ends before the hold timer
    assert call.playing is None
    call.wait(1)
    hold = call.current()
    assert isinstance(hold, PlayHold)
    actions = call.answer(Approved("SLOW1"))
    assert StopPlayback(hold.play_id) in actions
    call.finish_playback()
    assert call.prompt_names() == ["payment_approved", "your_reference_is"]
    call.listen()
    assert call.outcome.result is Result.SUCCESS


def test_hold_waits_for_the_processing_prompt_and_restarts_if_it_ends() -> None:
    call = charging()
    call.wait(5)
    assert call.prompt_names() == ["processing"]  # the hold is queued behind it
    call.finish_playback()
    assert isinstance(call.playing, PlayHold)
    call.finish_playback()  # hold audio ended by itself
    assert isinstance(call.playing, PlayHold)


def test_a_fast_answer_gets_no_hold_audio() -> None:
    call = charging()
    call.answer(Approved("FAST"))
    call.wait(30)
    call.listen()
    assert not [a for a in call.actions if isinstance(a, PlayHold)]


def test_keys_during_the_charge_are_ignored() -> None:
    call = charging()
    assert call.press("12#") == []


def test_an_answer_to_another_attempt_is_refused() -> None:
    call = charging()
    with pytest.raises(UnexpectedInput):
        call.feed(ChargeAnswered("other-attempt", Approved("X"), call.now))
    call.answer(Approved("X"))
    call.listen()
    with_finished = call.feed(ChargeAnswered("sess-1-1", Approved("X"), call.now))
    assert with_finished == []  # after Finished, everything is ignored


def test_no_charge_before_every_field_is_confirmed() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    pay(call, VISA)
    call.listen()
    call.press(CVV)
    assert not [a for a in call.actions if isinstance(a, Charge)]
    call.listen()
    call.press("1")
    assert len([a for a in call.actions if isinstance(a, Charge)]) == 1
    assert isinstance(call.playing, Play)


def test_the_requests_card_is_wiped_when_the_answer_comes() -> None:
    call = charging()
    request = call.charges[0]
    call.answer(Declined(DeclineReason.INCORRECT_CVC))
    assert request.card.number.wiped
    assert request.card.cvv.wiped  # type: ignore[union-attr]
    call.listen()
    key_in(call, "123")
    # The dialogue kept its own copy of the number for the second attempt.
    assert call.charges[1].card.number.reveal() == VISA


@pytest.mark.parametrize(
    ("given", "passed_on"),
    [
        ("INV-2001", "INV-2001"),
        ("  ACC 42  ", "ACC 42"),
        # The IVR put a card number where a label belongs: it goes nowhere.
        (VISA, None),
        (f"ref {VISA[:6]}-{VISA[6:]}", None),
        ("x" * 129, None),
        ("line\nbreak", None),
    ],
)
def test_account_and_reference_reach_the_gateway_only_when_fit(
    given: str, passed_on: str | None
) -> None:
    call = Call(
        variables={**AMOUNT_GIVEN, "paymentd_account_id": given, "paymentd_reference": given}
    )
    pay(call, MASTERCARD, cvv=CVV)
    (request,) = call.charges
    assert (request.account_id, request.reference) == (passed_on, passed_on)
