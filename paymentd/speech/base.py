"""What every language provides, and the parts of speaking that all languages share.

A language turns values into *fragment names* (``digits/21``, ``currency/dollar``)
from a closed vocabulary: :meth:`Language.vocabulary` lists every name it can
produce with the text the TTS speaks for it, so the generator records exactly
those files and the start-up check can prove none is missing.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from typing import ClassVar

import attrs

from paymentd.speech.currencies import NAMED_UNITS, exponent

__all__ = ["MAX_NUMBER", "Gender", "Language", "UnitWords"]

#: Numbers are spoken up to this value (the billions are there for amounts in minor-unit-less
#: currencies such as JPY, which grow large).
MAX_NUMBER = 999_999_999_999


class Gender(enum.Enum):
    """The grammatical gender a number agrees with (Spanish "una libra", "un dólar")."""

    MASCULINE = "masculine"
    FEMININE = "feminine"


@attrs.frozen
class UnitWords:
    """How a language says one currency unit: singular, plural, gender."""

    singular: str
    plural: str
    gender: Gender = Gender.MASCULINE


class Language(abc.ABC):
    """The rules and words of one language, and where its recorded voice lives."""

    #: BCP 47 tag (``en-US``).
    tag: ClassVar[str]
    #: The voice directory under the sounds root (``en/us/slt``): FreeSWITCH's
    #: ``sound_prefix`` is ``<sounds root>/<voice_path>``.
    voice_path: ClassVar[str]
    #: Words for every unit key of :data:`paymentd.speech.currencies.NAMED_UNITS`.
    units: ClassVar[Mapping[str, UnitWords]]

    @abc.abstractmethod
    def vocabulary(self) -> Mapping[str, str]:
        """Every fragment name this language can produce -> the text recorded for it."""

    @abc.abstractmethod
    def number(self, value: int) -> list[str]:
        """A whole number as said on its own ("twenty-one", "veintiuno")."""

    @abc.abstractmethod
    def counted(self, value: int, unit: str) -> list[str]:
        """``value`` of currency unit ``unit``, in agreement ("one dollar", "veintiuna libras")."""

    @abc.abstractmethod
    def month_year(self, month: int, year: int) -> list[str]:
        """A month (1-12) and a year ("March twenty twenty-eight")."""

    def digit(self, digit: str) -> str:
        """One digit ``0``-``9`` said on its own."""
        return f"digits/{digit}"

    def character(self, char: str) -> str:
        """One letter ``A``-``Z`` or digit, spelled (FreeSWITCH names letters by ASCII code)."""
        if char.isdigit():
            return self.digit(char)
        return f"ascii/{ord(char)}"

    def amount(self, minor: int, currency: str) -> list[str]:
        """An amount in minor units: "one hundred twenty-five dollars and fifty cents"."""
        digits = exponent(currency)
        major, fraction = divmod(minor, 10**digits)
        units = NAMED_UNITS.get(currency.upper())
        if units is None:
            return self._generic_amount(major, fraction, digits, currency.upper())
        words: list[str] = []
        # "fifty cents" rather than "zero dollars and fifty cents"; "zero dollars" for nothing.
        if major or not fraction:
            words += self.counted(major, units.major)
        if fraction:
            if units.minor is None:
                raise AssertionError(f"{currency} has minor digits but no minor unit")
            if words:
                words.append("currency/and")
            words += self.counted(fraction, units.minor)
        return words

    def _generic_amount(self, major: int, fraction: int, digits: int, code: str) -> list[str]:
        """A currency without unit words: "twelve point five zero, C H F"."""
        words = self.number(major)
        if digits:
            words.append("digits/point")
            words += [self.digit(d) for d in f"{fraction:0{digits}d}"]
        return words + [self.character(c) for c in code]

    def unit_word(self, unit: str, value: int) -> str:
        """The fragment of ``unit`` that the count ``value`` takes (``currency/dollar_plural``)."""
        return f"currency/{unit}" if value == 1 else f"currency/{unit}_plural"

    def unit_vocabulary(self) -> dict[str, str]:
        """The currency-unit part of :meth:`vocabulary`."""
        words: dict[str, str] = {}
        for key, unit in self.units.items():
            words[f"currency/{key}"] = unit.singular
            words[f"currency/{key}_plural"] = unit.plural
        return words
