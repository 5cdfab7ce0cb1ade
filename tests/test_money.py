import pytest
from hypothesis import given
from hypothesis import strategies as st

from paymentd.money import InvalidAmount, Money, UnknownCurrency, currency_exponent


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("125.50", "USD", 12550),
        ("125.5", "USD", 12550),
        ("125", "USD", 12500),
        ("0.01", "USD", 1),
        ("007.10", "EUR", 710),
        ("1250", "JPY", 1250),
        ("1.234", "BHD", 1234),
        ("1.2", "BHD", 1200),
    ],
)
def test_parse(text: str, currency: str, minor: int) -> None:
    assert Money.parse(text, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("125.505", "USD"),
        ("1250.0", "JPY"),
        ("1.2345", "BHD"),
        ("", "USD"),
        ("-1", "USD"),
        ("+1", "USD"),
        ("1e3", "USD"),
        ("1,000", "USD"),
        (" 12", "USD"),
        ("12.", "USD"),
        (".5", "USD"),
        ("١٢", "USD"),  # non-ASCII digits
    ],
)
def test_parse_rejects(text: str, currency: str) -> None:
    with pytest.raises(InvalidAmount):
        Money.parse(text, currency)


def test_exponents_come_from_iso4217() -> None:
    assert currency_exponent("USD") == 2
    assert currency_exponent("JPY") == 0
    assert currency_exponent("KWD") == 3
    assert Money(1, "CLF").exponent == 4


@pytest.mark.parametrize("code", ["usd", "XYZ", "US", "XAU", "ÜSD"])
def test_unknown_currencies(code: str) -> None:
    with pytest.raises(UnknownCurrency):
        Money(1, code)


def test_minor_must_be_a_non_negative_int() -> None:
    with pytest.raises(InvalidAmount):
        Money(-1, "USD")
    with pytest.raises(TypeError):
        Money(1.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, "USD")


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(12550, "USD"), "125.50"),
        (Money(5, "USD"), "0.05"),
        (Money(0, "USD"), "0.00"),
        (Money(1250, "JPY"), "1250"),
        (Money(1, "BHD"), "0.001"),
    ],
)
def test_decimal(money: Money, text: str) -> None:
    assert money.decimal() == text
    assert str(money) == f"{text} {money.currency}"


@given(st.integers(min_value=0, max_value=10**15), st.sampled_from(["USD", "JPY", "BHD", "CLF"]))
def test_decimal_round_trips(minor: int, currency: str) -> None:
    money = Money(minor, currency)
    assert Money.parse(money.decimal(), currency) == money


def test_comparison_within_a_currency() -> None:
    assert Money(100, "USD") < Money(101, "USD")
    assert Money(100, "USD") <= Money(100, "USD")
    assert Money(102, "USD") > Money(101, "USD")
    assert Money(101, "USD") >= Money(101, "USD")
    assert Money(100, "USD") != Money(100, "EUR")
    assert max(Money(3, "USD"), Money(9, "USD")) == Money(9, "USD")


def test_comparison_across_currencies_is_refused() -> None:
    with pytest.raises(TypeError, match="USD with EUR"):
        _ = Money(1, "USD") < Money(2, "EUR")
    with pytest.raises(TypeError):
        _ = Money(1, "USD") >= 1
