"""Structured logging with a per-call correlation id and a card-number redaction filter.

Every record carries the call's ``call_id`` (FreeSWITCH's Unique-ID) and the
payment ``session_id`` when there is one, set through context variables by the
task that runs the call.  The redaction filter is a second line of defence
behind the masked card types: any run of 12-19 digits (optionally separated by
spaces or dashes) that passes the Luhn check is masked before output.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = [
    "JsonFormatter",
    "KeyValueFormatter",
    "RedactingFilter",
    "bind",
    "call_context",
    "configure_logging",
    "redact",
]

_CONTEXT: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "paymentd_log_context", default=None
)

# A candidate PAN: 12-19 digits, possibly grouped by single spaces or dashes.
_PAN_CANDIDATE = re.compile(r"(?<!\d)\d(?:[ -]?\d){11,18}(?!\d)")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = ord(char) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _mask(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = re.sub(r"[ -]", "", text)
    if not _luhn_ok(digits):
        return text
    return f"[PAN ****{digits[-4:]}]"


def redact(text: str) -> str:
    """Mask every Luhn-valid 12-19 digit run in ``text``."""
    if not any(c.isdigit() for c in text):
        return text
    return _PAN_CANDIDATE.sub(_mask, text)


@contextmanager
def call_context(**fields: str) -> Iterator[None]:
    """Add ``fields`` (e.g. ``call_id``) to every record logged inside the block."""
    token = _CONTEXT.set({**(_CONTEXT.get() or {}), **fields})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def bind(**fields: str) -> None:
    """Add ``fields`` to the current task's log context (until the task ends)."""
    _CONTEXT.set({**(_CONTEXT.get() or {}), **fields})


class RedactingFilter(logging.Filter):
    """Masks PAN-like digit runs in the message and its arguments, and adds the context."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.ctx = _CONTEXT.get() or {}
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message or record.args:
            record.msg = redacted
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, redacted, so no formatter prints it raw.
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(formatted)
            record.exc_info = None
        return True


def _base_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        + f".{int(record.msecs):03d}Z",
        "level": record.levelname.lower(),
        "logger": record.name,
    }
    fields.update(getattr(record, "ctx", {}) or {})
    fields["msg"] = record.getMessage()
    extra = getattr(record, "fields", None)
    if isinstance(extra, dict):
        fields.update(extra)
    if record.exc_text:
        fields["exc"] = record.exc_text
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_base_fields(record), ensure_ascii=False, default=str)


def _kv(value: Any) -> str:
    text = str(value)
    if not text or any(c in text for c in ' "=\n'):
        return json.dumps(text, ensure_ascii=False)
    return text


class KeyValueFormatter(logging.Formatter):
    """``key=value`` pairs, quoted where needed (logfmt)."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={_kv(v)}" for k, v in _base_fields(record).items())


def configure_logging(
    level: str = "info", fmt: str = "json", stream: TextIO | None = None
) -> logging.Handler:
    """Send paymentd's logs (and aiohttp's) to ``stream`` (stderr) through the redaction filter."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_paymentd", False):
            root.removeHandler(old)
    handler._paymentd = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
