"""Latin-American Spanish as spoken in the US: "ciento veinticinco dólares con cincuenta centavos".

The rules that differ from English, all here:

- 1 agrees with what it counts: "uno" alone, "un dólar", "una libra"; likewise
  21, 31 ... 91 ("veintiún dólares", "treinta y una libras"), recorded as
  separate fragments ``digits/21-m`` and ``digits/21-f``.
- Hundreds agree too: "doscientos dólares", "doscientas libras" (``digits/200-f``).
- "cien" is exactly 100; "ciento" (``digits/hundred``) starts 101-199.
- Thousands: "mil", never "un mil"; the count of thousands agrees with the noun
  ("veintiún mil dólares", "veintiuna mil libras", "doscientas mil libras").
- Millions: "un millón", "dos millones"; "millón" is masculine, so the count of
  millions is always masculine ("doscientos millones de libras"); a billion is
  "mil millones".
- A round number of millions takes "de" before the noun: "un millón de dólares".
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from typing import ClassVar

from paymentd.speech.base import MAX_NUMBER, Gender, Language, UnitWords

__all__ = ["LatinAmericanSpanish"]

_ONES = [
    "cero",
    "uno",
    "dos",
    "tres",
    "cuatro",
    "cinco",
    "seis",
    "siete",
    "ocho",
    "nueve",
    "diez",
    "once",
    "doce",
    "trece",
    "catorce",
    "quince",
    "dieciséis",
    "diecisiete",
    "dieciocho",
    "diecinueve",
    "veinte",
    "veintiuno",
    "veintidós",
    "veintitrés",
    "veinticuatro",
    "veinticinco",
    "veintiséis",
    "veintisiete",
    "veintiocho",
    "veintinueve",
]
_TENS = [
    "_",
    "_",
    "_",
    "treinta",
    "cuarenta",
    "cincuenta",
    "sesenta",
    "setenta",
    "ochenta",
    "noventa",
]
_HUNDREDS = [
    "_",
    "ciento",
    "doscientos",
    "trescientos",
    "cuatrocientos",
    "quinientos",
    "seiscientos",
    "setecientos",
    "ochocientos",
    "novecientos",
]
_MONTHS = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]
_LETTERS = dict(
    zip(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        [
            *[
                "a",
                "be",
                "ce",
                "de",
                "e",
                "efe",
                "ge",
                "hache",
                "i",
                "jota",
                "ka",
                "ele",
                "eme",
                "ene",
                "o",
                "pe",
                "cu",
                "erre",
                "ese",
                "te",
                "u",
                "uve",
            ],
            *("doble uve", "equis", "ye", "zeta"),
        ],
        strict=True,
    )
)


class _Form(enum.Enum):
    """How a number ending in 1 is said: "uno" alone, "un" or "una" before a noun."""

    ALONE = ""
    MASCULINE = "-m"
    FEMININE = "-f"


def _form(gender: Gender) -> _Form:
    return _Form.FEMININE if gender is Gender.FEMININE else _Form.MASCULINE


def _under_hundred_text(value: int, form: _Form) -> str:
    if value < 30:
        text = _ONES[value]
    else:
        tens, ones = divmod(value, 10)
        text = _TENS[tens] if ones == 0 else f"{_TENS[tens]} y {_ONES[ones]}"
    if value % 10 == 1 and value != 11 and form is not _Form.ALONE:
        # uno -> un / una, veintiuno -> veintiún / veintiuna
        stem = text.removesuffix("uno")
        if form is _Form.FEMININE:
            return f"{stem}una"
        return "veintiún" if value == 21 else f"{stem}un"
    return text


class LatinAmericanSpanish(Language):
    """es-US, recorded with eSpeak NG's Latin-American Spanish voice (``es-419``)."""

    tag = "es-US"
    voice_path = "es/us/espeak"
    units: ClassVar[Mapping[str, UnitWords]] = {
        "dollar": UnitWords("dólar", "dólares"),
        "canadian_dollar": UnitWords("dólar canadiense", "dólares canadienses"),
        "australian_dollar": UnitWords("dólar australiano", "dólares australianos"),
        "cent": UnitWords("centavo", "centavos"),
        "euro": UnitWords("euro", "euros"),
        "euro_cent": UnitWords("céntimo", "céntimos"),
        "pound": UnitWords("libra esterlina", "libras esterlinas", Gender.FEMININE),
        "penny": UnitWords("penique", "peniques"),
        "yen": UnitWords("yen", "yenes"),
        "mexican_peso": UnitWords("peso mexicano", "pesos mexicanos"),
        "centavo": UnitWords("centavo", "centavos"),
    }

    def vocabulary(self) -> Mapping[str, str]:
        return _vocabulary()

    def number(self, value: int) -> list[str]:
        return _cardinal(value, _Form.ALONE)

    def counted(self, value: int, unit: str) -> list[str]:
        words = _cardinal(value, _form(self.units[unit].gender))
        if value and value % 1_000_000 == 0:
            words.append("currency/of")  # "un millón de dólares"
        return [*words, self.unit_word(unit, value)]

    def month_year(self, month: int, year: int) -> list[str]:
        # "marzo de dos mil veintiocho"
        return [f"time/month_{month:02d}", "time/of", *self.number(year)]


def _cardinal(value: int, form: _Form) -> list[str]:
    if not 0 <= value <= MAX_NUMBER:
        raise ValueError(f"cannot say {value}: outside 0..{MAX_NUMBER}")
    if value == 0:
        return ["digits/0"]
    millions, rest = divmod(value, 1_000_000)
    words: list[str] = []
    if millions == 1:
        words += ["digits/1-m", "digits/million"]
    elif millions:
        # "millones" is masculine, whatever the millions count.
        words += [*_under_million(millions, _Form.MASCULINE), "digits/millions"]
    return words + _under_million(rest, form)


def _under_million(value: int, form: _Form) -> list[str]:
    thousands, rest = divmod(value, 1000)
    words: list[str] = []
    if thousands == 1:
        words.append("digits/thousand")  # "mil", not "un mil"
    elif thousands:
        # The thousands count agrees with the noun, and is never "veintiuno mil".
        agreeing = _Form.FEMININE if form is _Form.FEMININE else _Form.MASCULINE
        words += [*_under_thousand(thousands, agreeing), "digits/thousand"]
    return words + _under_thousand(rest, form)


def _under_thousand(value: int, form: _Form) -> list[str]:
    if value == 100:
        return ["digits/100"]  # "cien"
    hundreds, rest = divmod(value, 100)
    words: list[str] = []
    if hundreds == 1:
        words.append("digits/hundred")  # "ciento"
    elif hundreds:
        feminine = "-f" if form is _Form.FEMININE else ""
        words.append(f"digits/{hundreds * 100}{feminine}")
    if rest:
        ending = form.value if rest % 10 == 1 and rest != 11 else ""
        words.append(f"digits/{rest}{ending}")
    return words


@functools.cache
def _vocabulary() -> Mapping[str, str]:
    words = {f"digits/{n}": _under_hundred_text(n, _Form.ALONE) for n in range(100)}
    for n in (1, 21, 31, 41, 51, 61, 71, 81, 91):
        for form in (_Form.MASCULINE, _Form.FEMININE):
            words[f"digits/{n}{form.value}"] = _under_hundred_text(n, form)
    for h in range(2, 10):
        words[f"digits/{h * 100}"] = _HUNDREDS[h]
        words[f"digits/{h * 100}-f"] = _HUNDREDS[h].removesuffix("os") + "as"
    words |= {
        "digits/100": "cien",
        "digits/hundred": "ciento",
        "digits/thousand": "mil",
        "digits/million": "millón",
        "digits/millions": "millones",
        "digits/point": "punto",
        "currency/and": "con",
        "currency/of": "de",
        "time/of": "de",
    }
    words |= LatinAmericanSpanish().unit_vocabulary()
    words |= {f"time/month_{i:02d}": name for i, name in enumerate(_MONTHS, 1)}
    words |= {f"ascii/{ord(c)}": text for c, text in _LETTERS.items()}
    return words
