"""Validators shared by every configuration section.

They raise :class:`InvalidSetting`, which carries the key so that the loader
can name it in the error (``capture.card_number.max_attempts: must be greater
than 0``).  This module imports nothing from paymentd, so any section module
can use it without an import cycle through :mod:`paymentd.config`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

__all__ = [
    "MIN_TOKEN_LENGTH",
    "InvalidSetting",
    "check_tokens",
    "non_negative",
    "one_of",
    "positive",
]

#: Bearer tokens shorter than this are refused: they could be guessed.
MIN_TOKEN_LENGTH = 24


class InvalidSetting(ValueError):
    """A bad value; ``key`` is the setting's name within its section."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


def positive(_inst: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise InvalidSetting(attribute.name, f"must be greater than 0, got {value!r}")


def non_negative(_inst: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise InvalidSetting(attribute.name, f"must not be negative, got {value!r}")


def one_of(*choices: str) -> Any:
    """Validator: the value is one of ``choices``."""

    def check(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
        if value not in choices:
            raise InvalidSetting(
                attribute.name, f"must be one of {', '.join(choices)}; got {value!r}"
            )

    return check


def check_tokens(_inst: object, attribute: attrs.Attribute[Any], value: Sequence[str]) -> None:
    """Validator for bearer tokens: long, printable ASCII, no repeats.

    Messages name a token by its position, never by its value.
    """
    for index, token in enumerate(value):
        if len(token) < MIN_TOKEN_LENGTH:
            raise InvalidSetting(
                attribute.name, f"token #{index + 1} is shorter than {MIN_TOKEN_LENGTH} characters"
            )
        if not token.isascii() or not token.isprintable() or " " in token:
            raise InvalidSetting(attribute.name, f"token #{index + 1} must be printable ASCII")
    if len(set(value)) != len(value):
        raise InvalidSetting(attribute.name, "lists a token twice")
