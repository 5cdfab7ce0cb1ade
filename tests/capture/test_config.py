import pytest

from paymentd.capture.config import (
    AmountConfig,
    AmountLimits,
    CaptureConfig,
    CardField,
    Route,
)
from paymentd.config import ConfigError, parse_config
from paymentd.money import Money


def problems(capture: dict[str, object]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config({"capture": capture}, "paymentd.toml")
    return str(info.value)


def test_defaults() -> None:
    config = parse_config({}).capture
    assert config == CaptureConfig()
    assert config.default_currency == "USD"
    assert config.amount.bounds("USD") == (Money(100, "USD"), Money(1000000, "USD"))
    assert config.fields_for("visa") == (CardField.EXPIRY, CardField.CVV)
    assert config.escape_digits == "*"
    assert config.max_declines == 3
    assert config.routes.automated.success == Route("resume")
    assert config.routes.agent.success == Route("agent")


def test_a_full_section_loads() -> None:
    config = parse_config(
        {
            "capture": {
                "currencies": ["USD", "EUR"],
                "time_zone": "America/New_York",
                "allowed_brands": ["visa", "jcb"],
                "card_fields": ["cvv", "expiry"],
                "card_fields_by_brand": {"jcb": ["postal_code"]},
                "escape_digits": "*A",
                "amount": {
                    "allow_partial": True,
                    "entry": "minor_units",
                    "limits": {"EUR": {"min": "5", "max": "250.50"}},
                },
                "card_number": {"read_back": "last4", "max_attempts": 5},
                "expiry": {"max_years_ahead": 10},
                "postal_code": {"min_digits": 3, "max_digits": 9},
                "routes": {
                    "automated": {
                        "declined": {
                            "action": "transfer",
                            "extension": "queue",
                            "context": "support",
                        }
                    },
                    "agent": {"agent_gone": {"action": "hangup"}},
                },
            }
        }
    ).capture
    assert config.amount.bounds("EUR") == (Money(500, "EUR"), Money(25050, "EUR"))
    assert config.amount.bounds("USD") == (Money(1, "USD"), None)  # not listed: no maximum
    assert config.fields_for("visa") == (CardField.EXPIRY, CardField.CVV)
    assert config.fields_for("jcb") == (CardField.POSTAL_CODE,)
    assert config.routes.automated.declined == Route("transfer", "queue", "support")
    assert config.card_number.max_attempts == 5


@pytest.mark.parametrize(
    ("capture", "message"),
    [
        ({"amount": {"limits": {"USD": {"min": "1.555"}}}}, "capture.amount.limits.USD.min"),
        ({"amount": {"limits": {"USD": {"min": "5", "max": "1"}}}}, "limits.USD.max"),
        ({"amount": {"limits": {"usd": {"min": "5"}}}}, "capture.amount.limits.usd"),
        ({"amount": {"entry": "cents"}}, "capture.amount.entry"),
        ({"amount": {"read_back": "last4"}}, "capture.amount.read_back"),
        ({"card_fields_by_brand": {"visa": ["cvv", "pin"]}}, "capture.card_fields_by_brand.visa"),
        ({"card_fields_by_brand": {"acme": ["cvv"]}}, "capture.card_fields_by_brand.acme"),
        ({"card_fields": ["cvv", "cvv"]}, "capture.card_fields"),
        ({"card_number": {"read_back": "half"}}, "capture.card_number.read_back"),
        ({"card_number": {"first_digit_timeout": 0}}, "capture.card_number.first_digit_timeout"),
        ({"expiry": {"read_back": "last4"}}, "capture.expiry.read_back"),
        ({"postal_code": {"min_digits": 6, "max_digits": 5}}, "capture.postal_code.max_digits"),
        ({"routes": {"automated": {"success": {"action": "agent"}}}}, "automated.success"),
        ({"routes": {"automated": {"success": {"action": "transfer"}}}}, "success.extension"),
        ({"routes": {"automated": {"success": {"action": "fly"}}}}, "success.action"),
        (
            {"routes": {"agent": {"success": {"action": "transfer", "extension": "a b"}}}},
            "capture.routes.agent.success.extension",
        ),
        ({"escape_digits": "#"}, "capture.escape_digits"),
        ({"escape_digits": "5"}, "capture.escape_digits"),
        ({"time_zone": "Mars/Olympus"}, "capture.time_zone"),
        ({"default_currency": "EUR"}, "capture.default_currency"),
        ({"currencies": []}, "capture.currencies"),
        ({"currencies": ["USD", "XAU"]}, "capture.currencies"),
        ({"default_language": "fr-FR"}, "capture.default_language"),
        ({"allowed_brands": ["visa", "acme"]}, "capture.allowed_brands"),
        ({"max_declines": 0}, "capture.max_declines"),
        ({"hold_after_seconds": -1}, "capture.hold_after_seconds"),
        ({"surprise": 1}, "unknown key"),
    ],
)
def test_errors_name_the_key(capture: dict[str, object], message: str) -> None:
    assert message in problems(capture)


def test_amount_limits_never_go_below_one_minor_unit() -> None:
    amount = AmountConfig(limits={"USD": AmountLimits(min="0")})
    assert amount.bounds("USD")[0] == Money(1, "USD")
