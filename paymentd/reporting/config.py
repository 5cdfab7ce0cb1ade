"""The ``[reporting]`` section: who may read ``GET /v1/reports/sessions``."""

from __future__ import annotations

import attrs

from paymentd.settings import InvalidSetting, check_tokens

__all__ = ["ReportingConfig"]

#: Shorter bearer tokens are too easy to guess.


@attrs.frozen
class ReportingConfig:
    """Historical reports over HTTP (``paymentd report`` reads the ledger directly)."""

    #: Bearer tokens accepted by ``GET /v1/reports/sessions`` (``Authorization: Bearer
    #: <token>``); none: the route refuses every request.
    tokens: tuple[str, ...] = attrs.field(default=(), validator=check_tokens, repr=False)
    #: Most sessions listed in one answer (``limit`` may ask for fewer).
    max_sessions: int = 10000

    def __attrs_post_init__(self) -> None:
        if self.max_sessions < 1:
            raise InvalidSetting("max_sessions", f"must be at least 1, got {self.max_sessions!r}")
