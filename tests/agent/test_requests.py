"""The payment request body: every field checked, no value ever echoed."""

from __future__ import annotations

import pytest

from paymentd.agent.config import LegMode
from paymentd.agent.requests import InvalidRequest, check_call_uuid, parse_payment_request
from paymentd.config import parse_config
from paymentd.money import Money

CONFIG = parse_config({"capture": {"currencies": ["USD", "JPY"]}})
VISA = "4242424242424242"


def parse(**body: object) -> object:
    return parse_payment_request(body, CONFIG.agent, CONFIG.capture)


def test_an_empty_request_takes_the_defaults() -> None:
    parameters = parse()
    assert parameters == parse_payment_request({}, CONFIG.agent, CONFIG.capture)
    assert parameters.currency == "USD"
    assert parameters.mode is LegMode.DETACH
    assert parameters.amount is None  # the customer keys it
    assert parameters.return_to_agent is True
    assert parameters.customer_verified is None


def test_a_full_request() -> None:
    parameters = parse_payment_request(
        {
            "amount": "1250",
            "currency": "jpy",
            "account_id": "ACC-7",
            "reference": "INV-42",
            "mode": "mute",
            "customer_verified": True,
            "language": "es-US",
        },
        CONFIG.agent,
        CONFIG.capture,
    )
    assert parameters.amount == Money(1250, "JPY")
    assert parameters.mode is LegMode.MUTE
    assert parameters.channel_variables() == {
        "paymentd_currency": "JPY",
        "paymentd_amount": "1250",
        "paymentd_account_id": "ACC-7",
        "paymentd_reference": "INV-42",
        "paymentd_customer_verified": "true",
        "paymentd_language": "es-US",
    }


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"amount": 125.5}, "amount", "must be a string"),
        ({"amount": "12.505"}, "amount", "must be a decimal amount in USD"),
        ({"amount": "0.50"}, "amount", "must be 1.00 to 10000.00 USD"),
        ({"currency": "EUR"}, "currency", "must be one of USD, JPY"),
        ({"mode": "whisper"}, "mode", "must be one of detach, mute"),
        ({"mode": "mute", "return_to_agent": False}, "return_to_agent", "must be true in mute"),
        ({"return_to_agent": "yes"}, "return_to_agent", "must be true or false"),
        ({"language": "fr-FR"}, "language", "must be one of"),
        ({"reference": "INV 42"}, "reference", "must be printable and without spaces"),
        ({"reference": "x" * 129}, "reference", "at most 128 characters"),
        ({"card_number": VISA}, "card_number", "is not a field of a payment request"),
    ],
)
def test_bad_fields_are_named(body: dict[str, object], field: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_payment_request(body, CONFIG.agent, CONFIG.capture)
    assert caught.value.field == field
    assert message in str(caught.value)


@pytest.mark.parametrize("text", [VISA, f"INV-{VISA}", "4242-4242-4242-4242"])
def test_a_card_number_in_free_text_is_refused_and_not_echoed(text: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse(reference=text)
    assert str(caught.value) == "reference: must not contain a card number"


def test_a_body_must_be_an_object() -> None:
    with pytest.raises(InvalidRequest, match="body: must be a JSON object"):
        parse_payment_request([], CONFIG.agent, CONFIG.capture)


@pytest.mark.parametrize("uuid", ["", "a b", "x\nEvent-Name: y", "../etc", "a" * 65])
def test_a_call_uuid_cannot_smuggle_words_into_an_api_command(uuid: str) -> None:
    with pytest.raises(InvalidRequest):
        check_call_uuid(uuid)


def test_the_fingerprint_tells_requests_apart() -> None:
    assert parse(amount="10.00").fingerprint() == parse(amount="10.0").fingerprint()
    assert parse(amount="10.00").fingerprint() != parse(amount="10.01").fingerprint()
