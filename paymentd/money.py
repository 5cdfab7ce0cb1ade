"""Amounts of money as integer minor units of an ISO 4217 currency.

The exponent of each currency (2 for USD, 0 for JPY, 3 for BHD) comes from the
``iso4217`` package, which tracks the published standard. Amounts are never
floats: ``Money.parse("125.50", "USD")`` is ``Money(12550, "USD")``.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
from iso4217 import Currency

__all__ = ["InvalidAmount", "Money", "UnknownCurrency", "currency_exponent"]

_DECIMAL = re.compile(r"(?P<whole>[0-9]+)(?:\.(?P<fraction>[0-9]+))?")


class UnknownCurrency(ValueError):
    """Not an ISO 4217 code of a currency with minor units defined (``XAU`` has none)."""


class InvalidAmount(ValueError):
    """A decimal amount that does not fit its currency."""


def currency_exponent(code: str) -> int:
    """Digits after the decimal point in ``code`` (upper-case ISO 4217 alphabetic code)."""
    if not (len(code) == 3 and code.isascii() and code.isupper()):
        raise UnknownCurrency(f"not an ISO 4217 currency code: {code!r}")
    try:
        exponent = Currency(code).exponent
    except ValueError:
        raise UnknownCurrency(f"not an ISO 4217 currency code: {code!r}") from None
    if exponent is None:
        raise UnknownCurrency(f"{code} has no minor unit and cannot be charged")
    return exponent


def _check_minor(_inst: object, _attribute: attrs.Attribute[Any], value: int) -> None:
    if type(value) is not int:
        raise TypeError(f"minor units must be an int, got {value!r}")
    if value < 0:
        raise InvalidAmount(f"an amount cannot be negative: {value!r}")


def _check_currency(_inst: object, _attribute: attrs.Attribute[Any], value: str) -> None:
    currency_exponent(value)


@attrs.frozen(order=False)
class Money:
    """A non-negative amount in minor units (cents) of ``currency``.

    Amounts of one currency compare with ``<``, ``<=``, ...; comparing amounts of
    different currencies raises ``TypeError`` rather than answering wrongly.
    """

    minor: int = attrs.field(validator=_check_minor)
    currency: str = attrs.field(validator=_check_currency)

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Parse a decimal amount in major units: ``"125.50"``, ``"125.5"``, ``"125"``.

        No sign, exponent, grouping or spaces; at most as many decimals as the
        currency has (``"1250.0"`` is refused for JPY). Raises :class:`InvalidAmount`.
        """
        exponent = currency_exponent(currency)
        match = _DECIMAL.fullmatch(text)
        if match is None:
            raise InvalidAmount(f"not a decimal amount: {text!r}")
        fraction = match["fraction"] or ""
        if len(fraction) > exponent:
            raise InvalidAmount(f"{text!r} has more decimals than {currency} allows ({exponent})")
        minor = int(match["whole"] + fraction.ljust(exponent, "0"))
        return cls(minor, currency)

    @property
    def exponent(self) -> int:
        return currency_exponent(self.currency)

    def decimal(self) -> str:
        """Major units as a plain decimal string (``"125.50"``, JPY ``"1250"``), as channel
        variables carry amounts."""
        exponent = self.exponent
        if exponent == 0:
            return str(self.minor)
        whole, fraction = divmod(self.minor, 10**exponent)
        return f"{whole}.{fraction:0{exponent}d}"

    def __str__(self) -> str:
        return f"{self.decimal()} {self.currency}"

    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot compare Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise TypeError(f"cannot compare {self.currency} with {other.currency}")
        return other

    def __lt__(self, other: object) -> bool:
        return self.minor < self._same_currency(other).minor

    def __le__(self, other: object) -> bool:
        return self.minor <= self._same_currency(other).minor

    def __gt__(self, other: object) -> bool:
        return self.minor > self._same_currency(other).minor

    def __ge__(self, other: object) -> bool:
        return self.minor >= self._same_currency(other).minor
