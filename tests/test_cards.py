import copy
import datetime
import pickle

import pytest

from paymentd.cards import (
    BRANDS,
    BrandTable,
    CardNumber,
    CardNumberProblem,
    Expiry,
    ExpiryProblem,
    IinRange,
    InvalidCardNumber,
    InvalidExpiry,
    InvalidSecurityCode,
    SecurityCode,
    SecurityCodeProblem,
    WipedError,
    luhn_valid,
)

# Public test numbers published by payment providers; they charge nothing.
BRAND_EXAMPLES = [
    ("visa", "4242424242424242"),
    ("visa", "4111111111111111"),
    ("mastercard", "5555555555554444"),
    ("mastercard", "2223003122003222"),
    ("amex", "378282246310005"),
    ("amex", "371449635398431"),
    ("discover", "6011111111111117"),
    ("diners", "3056930009020004"),
    ("diners", "36227206271667"),
    ("jcb", "3566002020360505"),
    ("unionpay", "6200000000000005"),
    ("maestro", "6759649826438453"),
]


@pytest.mark.parametrize(("brand", "number"), BRAND_EXAMPLES)
def test_brand_is_detected_from_iin(brand: str, number: str) -> None:
    card = CardNumber(number)
    assert card.brand.id == brand
    assert card.last4 == number[-4:]
    assert card.length == len(number)
    assert card.reveal() == number


def test_longest_prefix_wins() -> None:
    # 62 is UnionPay, but 622126..622925 is Discover's co-branded range.
    assert BRANDS.detect("6221260000000000").id == "discover"  # type: ignore[union-attr]
    assert BRANDS.detect("6221250000000000").id == "unionpay"  # type: ignore[union-attr]
    assert BRANDS.detect("6011").id == "discover"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("prefix", "brand"),
    [("2221", "mastercard"), ("2720", "mastercard"), ("51", "mastercard"), ("55", "mastercard")],
)
def test_mastercard_ranges_include_the_2_series(prefix: str, brand: str) -> None:
    assert BRANDS.detect(prefix + "000000000000").id == brand  # type: ignore[union-attr]


@pytest.mark.parametrize("prefix", ["2220", "2721", "50", "56", "9", "1"])
def test_numbers_outside_every_range_have_no_brand(prefix: str) -> None:
    assert BRANDS.detect(prefix + "000000000000") is None


def test_short_prefix_is_not_matched_by_longer_ranges() -> None:
    assert BRANDS.detect("22") is None
    assert BRANDS.detect("") is None


def test_brand_data() -> None:
    required = {"visa", "mastercard", "amex", "discover", "diners", "jcb", "unionpay", "maestro"}
    assert required <= set(BRANDS.ids)
    assert BRANDS["amex"].cvv_length == 4
    assert BRANDS["amex"].lengths == {15}
    assert all(BRANDS[b].cvv_length == 3 for b in BRANDS.ids if b != "amex")
    assert BRANDS["visa"].max_length == 19
    assert BRANDS["maestro"].min_length == 12


def test_no_two_brands_claim_the_same_prefix_length() -> None:
    # Equal-length overlaps would make detection depend on file order.
    ranges = [(brand.id, r) for brand in BRANDS for r in brand.iin]
    for i, (a, ra) in enumerate(ranges):
        for b, rb in ranges[i + 1 :]:
            if ra.digits == rb.digits:
                assert ra.high < rb.low or rb.high < ra.low, (a, ra, b, rb)


def test_iin_range_parse() -> None:
    assert IinRange.parse("2221-2720") == IinRange(2221, 2720, 4)
    assert IinRange.parse("4") == IinRange(4, 4, 1)
    for bad in ["22-2720", "x", "5-1", ""]:
        with pytest.raises(ValueError, match="IIN range"):
            IinRange.parse(bad)


def test_brand_table_from_mapping_rejects_bad_data() -> None:
    base = {"name": "X", "iin": ["9"], "lengths": [16], "cvv_length": 3}
    assert BrandTable.from_mapping({"x": base}).detect("9" * 16) is not None
    with pytest.raises(ValueError, match="lengths"):
        BrandTable.from_mapping({"x": {**base, "lengths": [11]}})
    with pytest.raises(ValueError, match="cvv_length"):
        BrandTable.from_mapping({"x": {**base, "cvv_length": 5}})


def test_luhn() -> None:
    assert luhn_valid("4242424242424242")
    assert not luhn_valid("4111111111111112")
    assert luhn_valid(bytearray(b"79927398713"))
    assert not luhn_valid("79927398710")


@pytest.mark.parametrize(
    ("digits", "problem"),
    [
        ("4111111111111112", CardNumberProblem.LUHN_CHECK_FAILED),
        ("42424242424", CardNumberProblem.TOO_SHORT),
        ("42424242424242424242", CardNumberProblem.TOO_LONG),
        ("4242x24242424242", CardNumberProblem.NOT_DIGITS),
        ("9000000000000001", CardNumberProblem.UNKNOWN_BRAND),
        # Luhn-valid 15-digit Visa: Visa numbers have 13, 16 or 19 digits.
        ("424242424242424", CardNumberProblem.WRONG_LENGTH_FOR_BRAND),
    ],
)
def test_invalid_card_numbers(digits: str, problem: CardNumberProblem) -> None:
    with pytest.raises(InvalidCardNumber) as info:
        CardNumber(digits)
    assert info.value.problem is problem
    assert digits not in str(info.value)
    assert digits[-4:] not in str(info.value)


def test_luhn_failure_is_reported_before_an_unknown_brand() -> None:
    with pytest.raises(InvalidCardNumber) as info:
        CardNumber("9000000000000000")
    assert info.value.problem is CardNumberProblem.LUHN_CHECK_FAILED


def test_brand_without_luhn_accepts_any_check_digit() -> None:
    assert not luhn_valid("6200000000000001")
    assert CardNumber("6200000000000001").brand.id == "unionpay"


def test_card_number_is_masked_everywhere() -> None:
    card = CardNumber(bytearray(b"4242424242424242"))
    logged = "%s" % (card,)  # noqa: UP031 - what a logging call does
    for text in [repr(card), str(card), f"{card}", f"{card!r}", f"{card:>40}", logged]:
        assert "424242424242" not in text
    assert repr(card) == "CardNumber(<visa ****4242>)"
    assert str(card) == "CardNumber(<visa ****4242>)"
    assert repr([card]) == "[CardNumber(<visa ****4242>)]"


@pytest.mark.parametrize(
    "value",
    [
        CardNumber("4242424242424242"),
        SecurityCode("123"),
        Expiry(3, 2030),
    ],
)
def test_card_data_cannot_be_pickled_or_copied(value: object) -> None:
    with pytest.raises(TypeError, match="cannot be serialised"):
        pickle.dumps(value)
    with pytest.raises(TypeError):
        copy.copy(value)
    with pytest.raises(TypeError):
        copy.deepcopy(value)
    with pytest.raises(TypeError):
        value.__getstate__()
    with pytest.raises(TypeError):
        value.__reduce__()
    assert not hasattr(value, "__dict__")


def test_wipe_overwrites_the_buffer() -> None:
    card = CardNumber("4242424242424242")
    buffer = card._digits
    card.wipe()
    assert bytes(buffer) == bytes(16)
    assert card.wiped
    assert repr(card) == "CardNumber(<wiped>)"
    with pytest.raises(WipedError):
        card.reveal()
    with pytest.raises(WipedError):
        card.copy()


def test_card_number_keeps_its_own_buffer() -> None:
    source = bytearray(b"4242424242424242")
    card = CardNumber(source)
    source[:] = bytes(len(source))
    assert card.reveal() == "4242424242424242"


def test_copy_is_independent() -> None:
    card = CardNumber("378282246310005")
    twin = card.copy()
    twin.wipe()
    assert card.reveal() == "378282246310005"
    assert card.brand.id == "amex"
    cvv = SecurityCode("1234")
    cvv_twin = cvv.copy()
    cvv_twin.wipe()
    assert cvv.reveal() == "1234"


def test_rejected_number_is_wiped() -> None:
    with pytest.raises(InvalidCardNumber) as info:
        CardNumber("4111111111111112")
    assert "4111" not in repr(info.value.__dict__)


def test_security_code_length_by_brand() -> None:
    assert SecurityCode("123", brand=BRANDS["visa"]).reveal() == "123"
    assert SecurityCode("1234", brand=BRANDS["amex"]).length == 4
    with pytest.raises(InvalidSecurityCode) as info:
        SecurityCode("1234", brand=BRANDS["visa"])
    assert info.value.problem is SecurityCodeProblem.WRONG_LENGTH
    with pytest.raises(InvalidSecurityCode):
        SecurityCode("123", brand=BRANDS["amex"])
    with pytest.raises(InvalidSecurityCode) as info:
        SecurityCode("12a")
    assert info.value.problem is SecurityCodeProblem.NOT_DIGITS
    with pytest.raises(InvalidSecurityCode):
        SecurityCode("12")


def test_security_code_is_masked_and_wipeable() -> None:
    cvv = SecurityCode(bytearray(b"737"))
    assert "737" not in repr(cvv) + str(cvv) + f"{cvv}"
    cvv.wipe()
    assert repr(cvv) == "SecurityCode(<wiped>)"
    with pytest.raises(WipedError):
        cvv.reveal()
    with pytest.raises(WipedError):
        cvv.copy()


TODAY = datetime.date(2026, 5, 17)


def test_expiry_from_mmyy() -> None:
    expiry = Expiry.from_mmyy("0328", TODAY)
    assert (expiry.month, expiry.year) == (3, 2028)
    assert repr(expiry) == "Expiry(<masked>)"
    assert "2028" not in str(expiry) + f"{expiry}"


def test_expiry_century_is_the_nearest_to_today() -> None:
    assert Expiry.from_mmyy("0101", datetime.date(2098, 1, 1)).year == 2101
    assert Expiry.from_mmyy("0199", datetime.date(2001, 1, 1)).year == 1999


@pytest.mark.parametrize("mmyy", ["0028", "1328", "9999"])
def test_expiry_month_must_be_valid(mmyy: str) -> None:
    with pytest.raises(InvalidExpiry) as info:
        Expiry.from_mmyy(mmyy, TODAY)
    assert info.value.problem is ExpiryProblem.INVALID_MONTH


@pytest.mark.parametrize("mmyy", ["032", "03288", "ab28", ""])
def test_expiry_must_be_four_digits(mmyy: str) -> None:
    with pytest.raises(InvalidExpiry) as info:
        Expiry.from_mmyy(mmyy, TODAY)
    assert info.value.problem is ExpiryProblem.NOT_DIGITS


@pytest.mark.parametrize(
    ("month", "year", "problem"),
    [
        (5, 2026, None),  # valid through the end of its month
        (4, 2026, ExpiryProblem.EXPIRED),
        (12, 2025, ExpiryProblem.EXPIRED),
        (5, 2046, None),
        (6, 2046, ExpiryProblem.TOO_FAR_AHEAD),
    ],
)
def test_expiry_problem_on(month: int, year: int, problem: ExpiryProblem | None) -> None:
    assert Expiry(month, year).problem_on(TODAY, max_years_ahead=20) is problem


def test_expiry_year_has_four_digits() -> None:
    with pytest.raises(ValueError, match="four digits"):
        Expiry(3, 28)
