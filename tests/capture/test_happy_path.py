import pytest

from paymentd.capture.actions import (
    Charge,
    Finished,
    Play,
    Progress,
    ProgressKind,
    Resume,
    SetVariables,
)
from paymentd.capture.config import CaptureConfig
from paymentd.capture.results import Field, Result
from paymentd.cards import BRANDS
from paymentd.payments import Approved
from paymentd.speech.utterances import Prompt, SayAmount, SayCharacters, SayDigits
from tests.capture.cards import AMEX, AMEX_CVV, BY_BRAND, CVV, VISA
from tests.capture.harness import AMOUNT_GIVEN, Call, pay

ALL_BRANDS = CaptureConfig(allowed_brands=tuple(BRANDS.ids))


def test_visa_happy_path_step_by_step() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    call.start()
    assert call.playing == Play(
        1,
        (
            Prompt("welcome"),
            Prompt("amount_due_is"),
            SayAmount(12550, "USD"),
            Prompt("press_1_to_pay_amount"),
        ),
    )
    call.listen()
    call.press("1")
    assert call.prompt_names() == ["enter_card_number"]
    call.listen()
    call.press(VISA + "#")
    assert call.playing is not None
    assert call.utterances() == (
        Prompt("you_entered"),
        SayDigits(VISA, group=4),
        Prompt("confirm_or_reenter"),
    )
    call.listen()
    call.press("1")
    assert call.prompt_names() == ["enter_expiry"]
    call.listen()
    call.press("1230")
    assert call.prompt_names() == ["expiry_date_is", "confirm_or_reenter"]
    call.listen()
    call.press("1")
    assert call.prompt_names() == ["enter_cvv_3"]
    call.listen()
    actions = call.press(CVV)
    assert call.prompt_names() == ["security_code_is", "confirm_or_reenter"]
    call.listen()
    actions = call.press("1")
    assert [type(a).__name__ for a in actions] == ["Progress", "Progress", "Play", "Charge"]
    assert call.prompt_names() == ["processing"]

    request = call.charges[0]
    assert request.amount.minor == 12550
    assert request.amount.currency == "USD"
    assert request.card.number.reveal() == VISA
    assert request.card.cvv is not None
    assert request.card.cvv.reveal() == CVV
    assert request.card.expiry is not None
    assert (request.card.expiry.month, request.card.expiry.year) == (12, 2030)
    assert request.moto
    assert request.session_id == "sess-1"
    assert request.call_uuid == "call-uuid-1"
    assert request.mode == "automated"
    assert request.attempt_id == "sess-1-1"
    assert request.idempotency_key == "paymentd-sess-1-1"

    # The result is decided at once; it is said after the processing prompt.
    (finished,) = call.answer(Approved("AB12CD"))
    assert isinstance(finished, Progress)
    assert finished.kind is ProgressKind.FINISHED
    assert finished.result is Result.SUCCESS
    heard = call.listen()
    assert heard == [
        Prompt("processing"),
        Prompt("payment_approved"),
        Prompt("your_reference_is"),
        SayCharacters("AB12CD"),
    ]
    assert call.tail(3) == [SetVariables, Resume, Finished]
    assert call.variables == {
        "paymentd_result": "success",
        "paymentd_session_id": "sess-1",
        "paymentd_confirmation_code": "AB12CD",
        "paymentd_card_brand": "visa",
        "paymentd_card_last4": "4242",
        "paymentd_amount": "125.50",
        "paymentd_currency": "USD",
        "paymentd_decline_count": "0",
        "paymentd_error_type": "",
    }
    assert call.outcome.result is Result.SUCCESS
    assert call.outcome.charge_attempts == 1
    assert call.dialogue.finished
    assert call.dialogue.next_deadline() is None


@pytest.mark.parametrize("brand", sorted(BY_BRAND))
def test_happy_path_for_each_brand(brand: str) -> None:
    pan = BY_BRAND[brand]
    cvv = AMEX_CVV if brand == "amex" else CVV
    call = Call(ALL_BRANDS, AMOUNT_GIVEN)
    call.start()
    call.listen()
    call.press("1")
    call.listen()
    # An entry ends by itself at the brand's longest length; "#" ends it earlier.
    completes_itself = len(pan) == BRANDS[brand].max_length
    call.press(pan if completes_itself else pan + "#")
    assert call.prompt_names() == ["you_entered", "confirm_or_reenter"]
    call.listen()
    call.press("1")
    assert call.prompt_names() == ["enter_expiry"]
    call.listen()
    call.press("0729")
    call.listen()
    call.press("1")
    assert call.prompt_names() == [f"enter_cvv_{len(cvv)}"]
    call.listen()
    call.press(cvv)
    call.listen()
    call.press("1")
    (request,) = call.charges
    assert request.card.number.reveal() == pan
    assert request.card.number.brand.id == brand
    call.answer(Approved("OK1"))
    call.listen()
    assert call.variables["paymentd_result"] == "success"
    assert call.variables["paymentd_card_brand"] == brand
    assert call.variables["paymentd_card_last4"] == pan[-4:]
    accepted = call.progress(ProgressKind.FIELD_ACCEPTED)
    card = next(p for p in accepted if p.field is Field.CARD_NUMBER)
    assert (card.card_brand, card.card_last4) == (brand, pan[-4:])


def test_amex_asks_for_the_four_digit_code() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    pay(call, AMEX, cvv=None)
    assert call.prompt_names() == ["enter_cvv_4"]
    call.listen()
    call.press(AMEX_CVV)
    call.listen()
    call.press("1")
    assert call.charges[0].card.cvv.reveal() == AMEX_CVV  # type: ignore[union-attr]


def test_charge_is_sent_once_with_copies_of_the_card() -> None:
    call = Call(variables=AMOUNT_GIVEN)
    pay(call, VISA, cvv=CVV)
    charges = [a for a in call.actions if isinstance(a, Charge)]
    assert len(charges) == 1
    # The gateway may wipe what it got; the dialogue's answer handling must not care.
    charges[0].request.card.wipe()
    call.answer(Approved("X1"))
    call.listen()
    assert call.outcome.result is Result.SUCCESS
