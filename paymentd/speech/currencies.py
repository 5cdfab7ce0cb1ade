"""Which currencies have spoken unit names, and how many minor digits each has.

Exponents come from ISO 4217 (the ``iso4217`` package), so every currency code
the configuration can allow is speakable: the ones listed in
:data:`NAMED_UNITS` by their unit names ("dollars and cents"), every other one
by the generic reading (number, decimal point, digits, then the code spelled
out).
"""

from __future__ import annotations

from typing import Final

import attrs
from iso4217 import Currency

__all__ = ["NAMED_UNITS", "CurrencyUnits", "exponent"]


@attrs.frozen
class CurrencyUnits:
    """Language-neutral keys of a currency's major and minor unit words.

    Each language gives the words for every key (``currency/dollar`` and
    ``currency/dollar_plural``); ``minor`` is None for currencies without
    minor units.
    """

    major: str
    minor: str | None


# A currency that is not here is still spoken, by the generic reading.
NAMED_UNITS: Final[dict[str, CurrencyUnits]] = {
    "USD": CurrencyUnits("dollar", "cent"),
    "CAD": CurrencyUnits("canadian_dollar", "cent"),
    "AUD": CurrencyUnits("australian_dollar", "cent"),
    "EUR": CurrencyUnits("euro", "euro_cent"),
    "GBP": CurrencyUnits("pound", "penny"),
    "JPY": CurrencyUnits("yen", None),
    "MXN": CurrencyUnits("mexican_peso", "centavo"),
}


def exponent(code: str) -> int:
    """The number of minor-unit digits of the ISO 4217 currency ``code`` (``JPY`` -> 0).

    Funds and metals without an exponent (``XAU``) count as 0. Raises
    ``ValueError`` for a code ISO 4217 does not know.
    """
    try:
        currency = Currency(code.upper())
    except ValueError:
        raise ValueError(f"unknown ISO 4217 currency code {code!r}") from None
    return currency.exponent or 0
