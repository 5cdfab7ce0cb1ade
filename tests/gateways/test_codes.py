"""Provider codes -> normalised outcomes, and what the outcomes let through."""

from __future__ import annotations

import pytest

from paymentd.gateways.codes import outcome_for_code
from paymentd.payments import Approved, Declined, DeclineReason, Failed, Unknown


@pytest.mark.parametrize(
    ("code", "decline_code", "reason"),
    [
        ("card_declined", None, DeclineReason.GENERIC),
        ("card_declined", "insufficient_funds", DeclineReason.INSUFFICIENT_FUNDS),
        ("card_declined", "do_not_honor", DeclineReason.DO_NOT_HONOR),
        ("card_declined", "fraudulent", DeclineReason.FRAUD_SUSPECTED),
        ("card_declined", "stolen_card", DeclineReason.FRAUD_SUSPECTED),
        ("card_declined", "card_not_supported", DeclineReason.CARD_NOT_SUPPORTED),
        ("incorrect_cvc", "incorrect_cvc", DeclineReason.INCORRECT_CVC),
        ("expired_card", None, DeclineReason.EXPIRED_CARD),
        ("incorrect_number", None, DeclineReason.INVALID_NUMBER),
        ("Insufficient_Funds", None, DeclineReason.INSUFFICIENT_FUNDS),
        ("something_new", None, DeclineReason.GENERIC),
    ],
)
def test_declines(code: str, decline_code: str | None, reason: DeclineReason) -> None:
    outcome = outcome_for_code(code, decline_code)
    assert isinstance(outcome, Declined)
    assert outcome.reason is reason
    assert outcome.raw_code == (decline_code or code)


@pytest.mark.parametrize("code", ["processing_error", "try_again_later", "issuer_not_available"])
def test_retryable_failures(code: str) -> None:
    assert outcome_for_code(code) == Failed(True, f"the gateway reported {code}")


def test_raw_codes_and_details_cannot_carry_card_numbers() -> None:
    declined = Declined(DeclineReason.GENERIC, "bad card 4242 4242 4242 4242 <script>")
    assert declined.raw_code == "badcard#script"
    assert Declined(DeclineReason.GENERIC, "x" * 100).raw_code == "x" * 64
    assert Failed(True, "echo 4000-0000-0000-0002\n").detail == "echo [digits]?"
    assert Unknown("5555555555554444").detail == "[digits]"


def test_references_keep_numbers_that_are_not_card_numbers() -> None:
    # Processors' numeric references (RRNs, transaction ids) are kept...
    assert Approved("123456789012").confirmation_code == "123456789012"
    assert Approved("ch_ffd9460583454003").confirmation_code == "ch_ffd9460583454003"
    assert Approved("OK", "1234567890123").gateway_reference == "1234567890123"
    # ...but nothing that would pass for a card number.
    assert Approved("4242424242424242").confirmation_code == "#"
    assert Approved("OK", "ref-378282246310005").gateway_reference == "ref-#"
