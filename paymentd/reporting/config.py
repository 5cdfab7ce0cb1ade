"""The ``[reporting]`` section: who may read ``GET /v1/reports/sessions``."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["ReportingConfig"]

#: Shorter bearer tokens are too easy to guess.
MIN_TOKEN_LENGTH = 24


def _invalid(key: str, message: str) -> ValueError:
    # Imported late: paymentd.config imports this module to build its Config.
    from paymentd.config import InvalidSetting

    return InvalidSetting(key, message)


def _check_tokens(_inst: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for index, token in enumerate(value):
        # Messages name the token by position, never by value.
        if len(token) < MIN_TOKEN_LENGTH:
            raise _invalid(
                attribute.name, f"token #{index + 1} is shorter than {MIN_TOKEN_LENGTH} characters"
            )
        if not token.isascii() or not token.isprintable() or " " in token:
            raise _invalid(attribute.name, f"token #{index + 1} must be printable ASCII")


@attrs.frozen
class ReportingConfig:
    """Historical reports over HTTP (``paymentd report`` reads the ledger directly)."""

    #: Bearer tokens accepted by ``GET /v1/reports/sessions`` (``Authorization: Bearer
    #: <token>``); none: the route refuses every request.
    tokens: tuple[str, ...] = attrs.field(default=(), validator=_check_tokens, repr=False)
    #: Most sessions listed in one answer (``limit`` may ask for fewer).
    max_sessions: int = 10000

    def __attrs_post_init__(self) -> None:
        if self.max_sessions < 1:
            raise _invalid("max_sessions", f"must be at least 1, got {self.max_sessions!r}")
