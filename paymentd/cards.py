"""Card data as types that cannot be logged by accident.

A :class:`CardNumber` or :class:`SecurityCode` keeps its digits in a ``bytearray``
that :meth:`~CardNumber.wipe` overwrites; ``repr``, ``str`` and ``format`` show a
mask (``CardNumber(<visa ****4242>)``), and pickling or copying through
:mod:`copy` is refused, so neither a stray log line nor a serialiser can carry the
digits away. The one place that must send them calls ``reveal()``.

Brands are recognised by their IIN ranges, kept as data in ``card_brands.toml``.
Errors name the problem (:class:`CardNumberProblem`, ...) and never the digits.
"""

from __future__ import annotations

import datetime
import enum
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any, NoReturn

import attrs

__all__ = [
    "BRANDS",
    "MAX_CARD_NUMBER_LENGTH",
    "MIN_CARD_NUMBER_LENGTH",
    "BrandTable",
    "CardBrand",
    "CardDataError",
    "CardNumber",
    "CardNumberProblem",
    "Expiry",
    "ExpiryProblem",
    "IinRange",
    "InvalidCardNumber",
    "InvalidExpiry",
    "InvalidSecurityCode",
    "SecurityCode",
    "SecurityCodeProblem",
    "WipedError",
    "luhn_valid",
]

#: ISO/IEC 7812 bounds of a primary account number.
MIN_CARD_NUMBER_LENGTH = 12
MAX_CARD_NUMBER_LENGTH = 19

Digits = str | bytes | bytearray


class CardDataError(ValueError):
    """Card data was rejected. The message names the problem, never the data."""


class CardNumberProblem(enum.StrEnum):
    NOT_DIGITS = "not_digits"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    LUHN_CHECK_FAILED = "luhn_check_failed"
    UNKNOWN_BRAND = "unknown_brand"
    WRONG_LENGTH_FOR_BRAND = "wrong_length_for_brand"


class ExpiryProblem(enum.StrEnum):
    NOT_DIGITS = "not_digits"
    INVALID_MONTH = "invalid_month"
    EXPIRED = "card_expired"
    TOO_FAR_AHEAD = "expiry_too_far_ahead"


class SecurityCodeProblem(enum.StrEnum):
    NOT_DIGITS = "not_digits"
    WRONG_LENGTH = "wrong_length"


class InvalidCardNumber(CardDataError):
    def __init__(self, problem: CardNumberProblem, brand: CardBrand | None = None) -> None:
        self.problem = problem
        self.brand = brand
        super().__init__(f"invalid card number: {problem}")


class InvalidExpiry(CardDataError):
    def __init__(self, problem: ExpiryProblem) -> None:
        self.problem = problem
        super().__init__(f"invalid expiry: {problem}")


class InvalidSecurityCode(CardDataError):
    def __init__(self, problem: SecurityCodeProblem) -> None:
        self.problem = problem
        super().__init__(f"invalid security code: {problem}")


class WipedError(RuntimeError):
    """The value was wiped and can no longer be revealed."""


# --- brands ---------------------------------------------------------------------------------


@attrs.frozen
class IinRange:
    """Prefixes ``low``..``high`` (inclusive), each ``digits`` long: ``2221-2720`` or ``4``."""

    low: int
    high: int
    digits: int

    @classmethod
    def parse(cls, text: str) -> IinRange:
        low, sep, high = text.partition("-")
        if not sep:
            high = low
        if not (low.isdigit() and high.isdigit() and len(low) == len(high)):
            raise ValueError(f"IIN range {text!r}: expected digits or LOW-HIGH of equal length")
        if int(low) > int(high):
            raise ValueError(f"IIN range {text!r}: low end above high end")
        return cls(int(low), int(high), len(low))

    def matches(self, digits: bytes | bytearray) -> bool:
        """True if ``digits`` (ASCII) start with a prefix in this range."""
        if len(digits) < self.digits:
            return False
        return self.low <= int(digits[: self.digits]) <= self.high


@attrs.frozen
class CardBrand:
    """A card scheme: how to recognise its numbers and what it asks for."""

    id: str
    name: str
    iin: tuple[IinRange, ...]
    lengths: frozenset[int]
    cvv_length: int
    luhn: bool = True

    @property
    def max_length(self) -> int:
        return max(self.lengths)

    @property
    def min_length(self) -> int:
        return min(self.lengths)

    def prefix_length(self, digits: bytes | bytearray) -> int:
        """Length of the longest of this brand's prefixes that ``digits`` start with (0: none)."""
        return max((r.digits for r in self.iin if r.matches(digits)), default=0)


class BrandTable:
    """The known brands; :meth:`detect` finds a number's brand by its longest matching prefix."""

    def __init__(self, brands: Iterable[CardBrand]) -> None:
        self._brands = {b.id: b for b in brands}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> BrandTable:
        """Build from the parsed ``card_brands.toml`` layout (one table per brand id)."""
        brands = []
        for brand_id, entry in data.items():
            lengths = frozenset(int(n) for n in entry["lengths"])
            if not lengths or not all(
                MIN_CARD_NUMBER_LENGTH <= n <= MAX_CARD_NUMBER_LENGTH for n in lengths
            ):
                raise ValueError(f"brand {brand_id!r}: lengths must lie within 12..19")
            if entry["cvv_length"] not in (3, 4):
                raise ValueError(f"brand {brand_id!r}: cvv_length must be 3 or 4")
            brands.append(
                CardBrand(
                    id=brand_id,
                    name=str(entry["name"]),
                    iin=tuple(IinRange.parse(r) for r in entry["iin"]),
                    lengths=lengths,
                    cvv_length=int(entry["cvv_length"]),
                    luhn=bool(entry.get("luhn", True)),
                )
            )
        return cls(brands)

    @classmethod
    def load_default(cls) -> BrandTable:
        text = resources.files("paymentd").joinpath("card_brands.toml").read_text("utf-8")
        return cls.from_mapping(tomllib.loads(text))

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._brands)

    def __getitem__(self, brand_id: str) -> CardBrand:
        return self._brands[brand_id]

    def __contains__(self, brand_id: object) -> bool:
        return brand_id in self._brands

    def __iter__(self) -> Any:
        return iter(self._brands.values())

    def detect(self, digits: Digits) -> CardBrand | None:
        """The brand whose longest prefix matches; None if no brand matches (yet)."""
        data = _ascii(digits)
        best: CardBrand | None = None
        best_length = 0
        for brand in self._brands.values():
            length = brand.prefix_length(data)
            if length > best_length:
                best, best_length = brand, length
        return best


#: The brands shipped in ``card_brands.toml``.
BRANDS = BrandTable.load_default()


def luhn_valid(digits: Digits) -> bool:
    """True if the last digit is the Luhn check digit of the others."""
    data = _ascii(digits)
    total = 0
    for position, byte in enumerate(reversed(data)):
        value = byte - 0x30
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _ascii(digits: Digits) -> bytes | bytearray:
    return digits.encode("ascii") if isinstance(digits, str) else digits


def _all_digits(data: bytes | bytearray) -> bool:
    return all(0x30 <= b <= 0x39 for b in data)


# --- sensitive values -----------------------------------------------------------------------


class _Unserialisable:
    """Refuses pickling and :mod:`copy`: card data must not leave in a serialised form."""

    __slots__ = ()

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError(f"{type(self).__name__} holds card data and cannot be serialised")

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} holds card data and cannot be serialised")

    def __getstate__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} holds card data and cannot be serialised")

    def __format__(self, spec: str) -> str:
        return format(repr(self), spec)

    def __str__(self) -> str:
        return repr(self)


class _WipeableDigits(_Unserialisable):
    """Digits in a ``bytearray`` that can be overwritten in place."""

    __slots__ = ("_digits", "_wiped")

    _digits: bytearray
    _wiped: bool

    def _take(self, digits: Digits) -> bytearray:
        # A copy the caller cannot mutate; the caller wipes its own buffer.
        self._digits = bytearray(_ascii(digits))
        self._wiped = False
        return self._digits

    @property
    def length(self) -> int:
        return len(self._digits)

    @property
    def wiped(self) -> bool:
        return self._wiped

    def reveal(self) -> str:
        """The digits in clear, for the one place that must send them (the gateway)."""
        if self._wiped:
            raise WipedError(f"{type(self).__name__} was wiped")
        return self._digits.decode("ascii")

    def wipe(self) -> None:
        """Overwrite the digits in memory; :meth:`reveal` fails afterwards."""
        for i in range(len(self._digits)):
            self._digits[i] = 0
        self._wiped = True

    def __del__(self) -> None:
        # Freed memory is not cleared by Python; leave zeros behind rather than digits.
        if hasattr(self, "_digits"):
            self.wipe()


class CardNumber(_WipeableDigits):
    """A primary account number that passed the checks of its brand.

    Built from digits (a ``bytearray`` is best: the caller can wipe its own buffer
    afterwards). Raises :class:`InvalidCardNumber` unless the number has 12-19
    digits, belongs to a known brand, has a length valid for that brand and (where
    the brand uses one) a correct Luhn check digit.
    """

    __slots__ = ("_brand", "_last4")

    def __init__(self, digits: Digits, *, brands: BrandTable = BRANDS) -> None:
        data = self._take(digits)
        try:
            self._brand = _check_card_number(data, brands)
        except InvalidCardNumber:
            self.wipe()
            raise
        self._last4 = data[-4:].decode("ascii")

    @property
    def brand(self) -> CardBrand:
        return self._brand

    @property
    def last4(self) -> str:
        return self._last4

    def copy(self) -> CardNumber:
        """An independent copy (its own buffer), e.g. for a gateway that wipes what it is given."""
        if self._wiped:
            raise WipedError("CardNumber was wiped")
        return CardNumber(self._digits, brands=BrandTable([self._brand]))

    def __repr__(self) -> str:
        if self._wiped:
            return "CardNumber(<wiped>)"
        return f"CardNumber(<{self._brand.id} ****{self._last4}>)"


def _check_card_number(data: bytearray, brands: BrandTable) -> CardBrand:
    if not _all_digits(data):
        raise InvalidCardNumber(CardNumberProblem.NOT_DIGITS)
    if len(data) < MIN_CARD_NUMBER_LENGTH:
        raise InvalidCardNumber(CardNumberProblem.TOO_SHORT)
    if len(data) > MAX_CARD_NUMBER_LENGTH:
        raise InvalidCardNumber(CardNumberProblem.TOO_LONG)
    brand = brands.detect(data)
    # A mistyped number is far more likely than an exotic brand: report the typo first.
    if (brand is None or brand.luhn) and not luhn_valid(data):
        raise InvalidCardNumber(CardNumberProblem.LUHN_CHECK_FAILED, brand)
    if brand is None:
        raise InvalidCardNumber(CardNumberProblem.UNKNOWN_BRAND)
    if len(data) not in brand.lengths:
        raise InvalidCardNumber(CardNumberProblem.WRONG_LENGTH_FOR_BRAND, brand)
    return brand


class SecurityCode(_WipeableDigits):
    """The card security code (CVV2, CVC2, CID): 3 digits, or 4 for American Express.

    With ``brand`` the length must be that brand's; without, 3 or 4 digits pass.
    Raises :class:`InvalidSecurityCode`.
    """

    __slots__ = ()

    def __init__(self, digits: Digits, *, brand: CardBrand | None = None) -> None:
        data = self._take(digits)
        lengths = (brand.cvv_length,) if brand else (3, 4)
        problem = None
        if not _all_digits(data):
            problem = SecurityCodeProblem.NOT_DIGITS
        elif len(data) not in lengths:
            problem = SecurityCodeProblem.WRONG_LENGTH
        if problem is not None:
            self.wipe()
            raise InvalidSecurityCode(problem)

    def copy(self) -> SecurityCode:
        """An independent copy (its own buffer)."""
        if self._wiped:
            raise WipedError("SecurityCode was wiped")
        return SecurityCode(self._digits)

    def __repr__(self) -> str:
        return "SecurityCode(<wiped>)" if self._wiped else "SecurityCode(<masked>)"


class Expiry(_Unserialisable):
    """A card's expiry month and four-digit year; the card is valid through that month."""

    __slots__ = ("_month", "_year")

    def __init__(self, month: int, year: int) -> None:
        if not 1 <= month <= 12:
            raise InvalidExpiry(ExpiryProblem.INVALID_MONTH)
        if not 1000 <= year <= 9999:
            raise ValueError("year must have four digits")
        self._month = month
        self._year = year

    @classmethod
    def from_mmyy(cls, digits: Digits, today: datetime.date) -> Expiry:
        """Parse ``MMYY`` as keyed; the century is the one that puts the year nearest ``today``."""
        data = _ascii(digits)
        if len(data) != 4 or not _all_digits(data):
            raise InvalidExpiry(ExpiryProblem.NOT_DIGITS)
        month, yy = int(data[:2]), int(data[2:])
        year = today.year // 100 * 100 + yy
        if year < today.year - 50:
            year += 100
        elif year > today.year + 50:
            year -= 100
        return cls(month, year)

    @property
    def month(self) -> int:
        return self._month

    @property
    def year(self) -> int:
        return self._year

    def problem_on(self, today: datetime.date, max_years_ahead: int) -> ExpiryProblem | None:
        """Why the card cannot be used on ``today`` (None if it can): expired, or an expiry
        more than ``max_years_ahead`` years away, which is a keying mistake."""
        if (self._year, self._month) < (today.year, today.month):
            return ExpiryProblem.EXPIRED
        if (self._year, self._month) > (today.year + max_years_ahead, today.month):
            return ExpiryProblem.TOO_FAR_AHEAD
        return None

    def __repr__(self) -> str:
        return "Expiry(<masked>)"
