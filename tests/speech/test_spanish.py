"""Latin-American Spanish: agreement, apocope, "cien"/"ciento", "mil", "millón" and "de"."""

from __future__ import annotations

import pytest

from paymentd.speech import find_language, render
from paymentd.speech.utterances import SayAmount, SayCharacters, SayMonthYear, SayNumber

from .conftest import said

ES = find_language("es-US")

NUMBERS = {
    0: "cero",
    1: "uno",
    9: "nueve",
    10: "diez",
    11: "once",
    15: "quince",
    16: "dieciséis",
    20: "veinte",
    21: "veintiuno",
    22: "veintidós",
    23: "veintitrés",
    26: "veintiséis",
    30: "treinta",
    31: "treinta y uno",
    45: "cuarenta y cinco",
    99: "noventa y nueve",
    100: "cien",
    101: "ciento uno",
    111: "ciento once",
    121: "ciento veintiuno",
    125: "ciento veinticinco",
    200: "doscientos",
    500: "quinientos",
    555: "quinientos cincuenta y cinco",
    700: "setecientos",
    900: "novecientos",
    999: "novecientos noventa y nueve",
    1000: "mil",
    1001: "mil uno",
    1100: "mil cien",
    1500: "mil quinientos",
    2000: "dos mil",
    2028: "dos mil veintiocho",
    21_000: "veintiún mil",
    21_021: "veintiún mil veintiuno",
    31_000: "treinta y un mil",
    100_000: "cien mil",
    101_000: "ciento un mil",
    200_000: "doscientos mil",
    999_999: "novecientos noventa y nueve mil novecientos noventa y nueve",
    1_000_000: "un millón",
    1_000_001: "un millón uno",
    1_100_000: "un millón cien mil",
    2_000_000: "dos millones",
    21_000_000: "veintiún millones",
    100_000_000: "cien millones",
    121_121_121: "ciento veintiún millones ciento veintiún mil ciento veintiuno",
    999_999_999: (
        "novecientos noventa y nueve millones novecientos noventa y nueve mil"
        " novecientos noventa y nueve"
    ),
    1_000_000_000: "mil millones",
    1_001_000_000: "mil un millones",
    21_000_000_000: "veintiún mil millones",
}


@pytest.mark.parametrize(("value", "text"), NUMBERS.items())
def test_numbers(value: int, text: str) -> None:
    assert said(render([SayNumber(value)], ES), ES) == text


@pytest.mark.parametrize("value", [-1, 1_000_000_000_000])
def test_numbers_out_of_range_are_refused(value: int) -> None:
    with pytest.raises(ValueError, match="cannot say"):
        render([SayNumber(value)], ES)


AMOUNTS = [
    (12550, "USD", "ciento veinticinco dólares con cincuenta centavos"),
    (100, "USD", "un dólar"),
    (101, "USD", "un dólar con un centavo"),
    (1, "USD", "un centavo"),
    (2100, "USD", "veintiún dólares"),
    (2121, "USD", "veintiún dólares con veintiún centavos"),
    (3100, "USD", "treinta y un dólares"),
    (20000, "USD", "doscientos dólares"),
    (2_100_000, "USD", "veintiún mil dólares"),
    (0, "USD", "cero dólares"),
    (50, "USD", "cincuenta centavos"),
    # A round number of millions takes "de"; any other does not.
    (100_000_000, "USD", "un millón de dólares"),
    (300_000_000, "USD", "tres millones de dólares"),
    (100_010_000, "USD", "un millón cien dólares"),
    # The pound is feminine: una, veintiuna, doscientas, and the thousands agree too.
    (100, "GBP", "una libra esterlina"),
    (2100, "GBP", "veintiuna libras esterlinas"),
    (3100, "GBP", "treinta y una libras esterlinas"),
    (20000, "GBP", "doscientas libras esterlinas"),
    (50000, "GBP", "quinientas libras esterlinas"),
    (2_100_000, "GBP", "veintiuna mil libras esterlinas"),
    (20_000_000, "GBP", "doscientas mil libras esterlinas"),
    (20_100_000, "GBP", "doscientas una mil libras esterlinas"),
    (101, "GBP", "una libra esterlina con un penique"),
    # ... but "millón" is masculine, whatever it counts.
    (20_000_000_000, "GBP", "doscientos millones de libras esterlinas"),
    (2_100_000_000, "GBP", "veintiún millones de libras esterlinas"),
    (12505, "EUR", "ciento veinticinco euros con cinco céntimos"),
    (100, "EUR", "un euro"),
    (4250, "CAD", "cuarenta y dos dólares canadienses con cincuenta centavos"),
    (100, "AUD", "un dólar australiano"),
    (21000, "JPY", "veintiún mil yenes"),
    (1, "JPY", "un yen"),
    (15075, "MXN", "ciento cincuenta pesos mexicanos con setenta y cinco centavos"),
    (12550, "CHF", "ciento veinticinco punto cinco cero ce hache efe"),
    (12345, "KWD", "doce punto tres cuatro cinco ka doble uve de"),
]


@pytest.mark.parametrize(("minor", "currency", "text"), AMOUNTS)
def test_amounts(minor: int, currency: str, text: str) -> None:
    assert said(render([SayAmount(minor, currency)], ES), ES) == text


@pytest.mark.parametrize(
    ("month", "year", "text"),
    [
        (3, 2028, "marzo de dos mil veintiocho"),
        (1, 2031, "enero de dos mil treinta y uno"),
        (12, 2005, "diciembre de dos mil cinco"),
        (9, 1999, "septiembre de mil novecientos noventa y nueve"),
    ],
)
def test_month_and_year(month: int, year: int, text: str) -> None:
    assert said(render([SayMonthYear(month, year)], ES), ES) == text


def test_letters_are_spelled_by_name() -> None:
    assert said(render([SayCharacters("HWy7")], ES), ES) == "hache doble uve ye siete"
