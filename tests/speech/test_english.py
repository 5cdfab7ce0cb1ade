"""American English: numbers, amounts, dates and letters as the caller hears them."""

from __future__ import annotations

import pytest

from paymentd.speech import find_language, render
from paymentd.speech.utterances import SayAmount, SayCharacters, SayMonthYear, SayNumber

from .conftest import said

EN = find_language("en-US")

NUMBERS = {
    0: "zero",
    1: "one",
    7: "seven",
    10: "ten",
    11: "eleven",
    13: "thirteen",
    19: "nineteen",
    20: "twenty",
    21: "twenty-one",
    40: "forty",
    45: "forty-five",
    99: "ninety-nine",
    100: "one hundred",
    101: "one hundred one",
    110: "one hundred ten",
    125: "one hundred twenty-five",
    200: "two hundred",
    999: "nine hundred ninety-nine",
    1000: "one thousand",
    1001: "one thousand one",
    1100: "one thousand one hundred",
    2024: "two thousand twenty-four",
    12_345: "twelve thousand three hundred forty-five",
    100_000: "one hundred thousand",
    100_001: "one hundred thousand one",
    999_999: "nine hundred ninety-nine thousand nine hundred ninety-nine",
    1_000_000: "one million",
    1_000_001: "one million one",
    2_500_000: "two million five hundred thousand",
    10_000_010: "ten million ten",
    123_456_789: (
        "one hundred twenty-three million four hundred fifty-six thousand seven hundred eighty-nine"
    ),
    999_999_999: (
        "nine hundred ninety-nine million nine hundred ninety-nine thousand"
        " nine hundred ninety-nine"
    ),
    1_000_000_000: "one billion",
    7_000_000_042: "seven billion forty-two",
}


@pytest.mark.parametrize(("value", "text"), NUMBERS.items())
def test_numbers(value: int, text: str) -> None:
    assert said(render([SayNumber(value)], EN), EN) == text


@pytest.mark.parametrize("value", [-1, 1_000_000_000_000])
def test_numbers_out_of_range_are_refused(value: int) -> None:
    with pytest.raises(ValueError, match="cannot say"):
        render([SayNumber(value)], EN)


AMOUNTS = [
    (12550, "USD", "one hundred twenty-five dollars and fifty cents"),
    (100, "USD", "one dollar"),
    (101, "USD", "one dollar and one cent"),
    (1, "USD", "one cent"),
    (50, "USD", "fifty cents"),
    (0, "USD", "zero dollars"),
    (200000, "USD", "two thousand dollars"),
    (100_000_000, "USD", "one million dollars"),
    (
        999_999_999_99,
        "USD",
        (
            "nine hundred ninety-nine million nine hundred ninety-nine thousand nine hundred"
            " ninety-nine dollars and ninety-nine cents"
        ),
    ),
    (12505, "EUR", "one hundred twenty-five euros and five cents"),
    (100, "EUR", "one euro"),
    (1999, "GBP", "nineteen pounds and ninety-nine pence"),
    (101, "GBP", "one pound and one penny"),
    (4250, "CAD", "forty-two Canadian dollars and fifty cents"),
    (100, "AUD", "one Australian dollar"),
    (12500, "JPY", "twelve thousand five hundred yen"),
    (1, "JPY", "one yen"),
    (15075, "MXN", "one hundred fifty Mexican pesos and seventy-five centavos"),
    (101, "MXN", "one Mexican peso and one centavo"),
    # Currencies without unit words: the number, then the code spelled out.
    (12550, "CHF", "one hundred twenty-five point five zero C H F"),
    (12345, "KWD", "twelve point three four five K W D"),
    (7, "KWD", "zero point zero zero seven K W D"),
    (500, "CLP", "five hundred C L P"),
    (12550, "usd", "one hundred twenty-five dollars and fifty cents"),
]


@pytest.mark.parametrize(("minor", "currency", "text"), AMOUNTS)
def test_amounts(minor: int, currency: str, text: str) -> None:
    assert said(render([SayAmount(minor, currency)], EN), EN) == text


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(ValueError, match="ZZZ"):
        render([SayAmount(100, "ZZZ")], EN)


@pytest.mark.parametrize(
    ("month", "year", "text"),
    [
        (3, 2028, "March twenty twenty-eight"),
        (1, 2030, "January twenty thirty"),
        (12, 2005, "December two thousand five"),
        (7, 2000, "July two thousand"),
        (5, 2010, "May twenty ten"),
        (11, 1999, "November nineteen ninety-nine"),
        (9, 1905, "September nineteen oh five"),
        (2, 2100, "February two thousand one hundred"),
    ],
)
def test_month_and_year(month: int, year: int, text: str) -> None:
    assert said(render([SayMonthYear(month, year)], EN), EN) == text


def test_letters_are_spelled_by_name() -> None:
    # "ay", not "A": read alone, Festival says the article.
    assert said(render([SayCharacters("AbZ09")], EN), EN) == "ay B Z zero nine"
