"""American English: "one hundred twenty-five dollars and fifty cents"."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import ClassVar

from paymentd.speech.base import MAX_NUMBER, Language, UnitWords

__all__ = ["AmericanEnglish"]

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((1_000_000_000, "billion"), (1_000_000, "million"), (1_000, "thousand"))
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
# Spelled so that the TTS says the letter's name: a bare "A" comes out as the article "uh".
_LETTERS = dict(
    zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", ["ay", *"BCDEFGHIJKLMNOPQRSTUVWXYZ"], strict=True)
)


def _under_hundred(value: int) -> str:
    if value < 20:
        return _ONES[value]
    tens, ones = divmod(value, 10)
    return _TENS[tens] if ones == 0 else f"{_TENS[tens]}-{_ONES[ones]}"


class AmericanEnglish(Language):
    """en-US, recorded with Festival's CMU SLT HTS voice."""

    tag = "en-US"
    voice_path = "en/us/slt"
    units: ClassVar[Mapping[str, UnitWords]] = {
        "dollar": UnitWords("dollar", "dollars"),
        "canadian_dollar": UnitWords("Canadian dollar", "Canadian dollars"),
        "australian_dollar": UnitWords("Australian dollar", "Australian dollars"),
        "cent": UnitWords("cent", "cents"),
        "euro": UnitWords("euro", "euros"),
        "euro_cent": UnitWords("cent", "cents"),
        "pound": UnitWords("pound", "pounds"),
        "penny": UnitWords("penny", "pence"),
        "yen": UnitWords("yen", "yen"),
        "mexican_peso": UnitWords("Mexican peso", "Mexican pesos"),
        "centavo": UnitWords("centavo", "centavos"),
    }

    def vocabulary(self) -> Mapping[str, str]:
        return _vocabulary()

    def number(self, value: int) -> list[str]:
        if not 0 <= value <= MAX_NUMBER:
            raise ValueError(f"cannot say {value}: outside 0..{MAX_NUMBER}")
        if value == 0:
            return ["digits/0"]
        words: list[str] = []
        for scale, name in _SCALES:
            count, value = divmod(value, scale)
            if count:
                words += [*_under_thousand(count), f"digits/{name}"]
        return words + _under_thousand(value)

    def counted(self, value: int, unit: str) -> list[str]:
        return [*self.number(value), self.unit_word(unit, value)]

    def month_year(self, month: int, year: int) -> list[str]:
        return [f"time/month_{month:02d}", *self._year(year)]

    def _year(self, year: int) -> list[str]:
        century, rest = divmod(year, 100)
        # "two thousand five", "twenty twenty-eight", "nineteen oh five"
        if not 1000 <= year <= 9999 or 2000 <= year <= 2009 or rest == 0:
            return self.number(year)
        last = [f"digits/{rest}"] if rest >= 10 else ["digits/oh", f"digits/{rest}"]
        return [f"digits/{century}", *last]


def _under_thousand(value: int) -> list[str]:
    hundreds, rest = divmod(value, 100)
    words = [f"digits/{hundreds}", "digits/hundred"] if hundreds else []
    if rest:
        words.append(f"digits/{rest}")
    return words


@functools.cache
def _vocabulary() -> Mapping[str, str]:
    words = {f"digits/{n}": _under_hundred(n) for n in range(100)}
    words |= {f"digits/{name}": name for _, name in _SCALES}
    words |= {"digits/hundred": "hundred", "digits/oh": "oh", "digits/point": "point"}
    words |= {"currency/and": "and"}
    words |= AmericanEnglish().unit_vocabulary()
    words |= {f"time/month_{i:02d}": name for i, name in enumerate(_MONTHS, 1)}
    words |= {f"ascii/{ord(c)}": text for c, text in _LETTERS.items()}
    return words
