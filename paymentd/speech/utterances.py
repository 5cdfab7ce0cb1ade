"""The language-neutral vocabulary of what paymentd says.

The dialogue speaks in these values; :mod:`paymentd.speech` turns them into
pre-recorded audio fragments for the call's language.  Values that would read
card data aloud (``SayDigits`` of a PAN, ``SayMonthYear`` of an expiry) are
*sensitive*: their text never appears in a ``repr``, and the driver must never
put their file names into a FreeSWITCH application argument (it composes them
into one opaque, one-time audio file instead).
"""

from __future__ import annotations

import attrs

__all__ = [
    "Prompt",
    "SayAmount",
    "SayCharacters",
    "SayDigits",
    "SayMonthYear",
    "SayNumber",
    "Silence",
    "Utterance",
    "is_sensitive",
]


@attrs.frozen
class Prompt:
    """A fixed, pre-recorded prompt, by name (e.g. ``"enter_card_number"``)."""

    name: str


@attrs.frozen
class SayAmount:
    """An amount of money in minor units (``12550``, ``"USD"`` -> "one hundred twenty-five
    dollars and fifty cents")."""

    minor: int
    currency: str


@attrs.frozen
class SayDigits:
    """Digits read one by one, in groups of ``group`` with a short pause between groups.

    ``sensitive`` digits (card number, CVV, postal code) are masked in ``repr``.
    """

    digits: str = attrs.field(repr=False)
    group: int | None = None
    sensitive: bool = True

    def __repr__(self) -> str:
        shown = "*" * len(self.digits) if self.sensitive else self.digits
        return f"SayDigits({shown!r}, group={self.group!r}, sensitive={self.sensitive!r})"


@attrs.frozen
class SayMonthYear:
    """A month and a four-digit year ("March twenty twenty-eight"); an expiry is sensitive."""

    month: int = attrs.field(repr=False)
    year: int = attrs.field(repr=False)
    sensitive: bool = True

    def __repr__(self) -> str:
        if self.sensitive:
            return "SayMonthYear(<masked>)"
        return f"SayMonthYear(month={self.month!r}, year={self.year!r}, sensitive=False)"


@attrs.frozen
class SayCharacters:
    """Letters and digits spelled one by one (a transaction reference)."""

    text: str


@attrs.frozen
class SayNumber:
    """A whole number said as a number ("twenty-three")."""

    value: int


@attrs.frozen
class Silence:
    milliseconds: int


Utterance = Prompt | SayAmount | SayDigits | SayMonthYear | SayCharacters | SayNumber | Silence


def is_sensitive(utterance: Utterance) -> bool:
    """True if the utterance speaks card data and must be played from an opaque file."""
    return isinstance(utterance, SayDigits | SayMonthYear) and utterance.sensitive
