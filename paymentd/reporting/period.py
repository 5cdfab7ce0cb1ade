"""The period of a report: ``--since``/``--until`` and ``?since=``/``&until=``.

Accepted: an ISO 8601 date (``2026-11-01``: midnight UTC) or date and time
(``2026-11-01T08:30``, ``2026-11-01T08:30:00+01:00``; without an offset: UTC),
``now``, or a span back from now: ``90m``, ``24h``, ``7d``, ``2w``.
"""

from __future__ import annotations

import datetime
import re

__all__ = ["InvalidPeriod", "parse_moment", "parse_period"]

_SPAN = re.compile(r"(?P<count>\d{1,6})(?P<unit>[smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class InvalidPeriod(ValueError):
    """A moment that cannot be read, or a period that ends before it starts."""


def parse_moment(text: str, now: datetime.datetime) -> datetime.datetime:
    """``text`` as an aware UTC datetime (spans count back from ``now``)."""
    value = text.strip()
    if value.lower() == "now":
        return now
    span = _SPAN.fullmatch(value.lower())
    if span is not None:
        delta = datetime.timedelta(**{_UNITS[span["unit"]]: int(span["count"])})
        return now - delta
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidPeriod(
            f"not a date, a time or a span: {text!r} (try 2026-11-01, 2026-11-01T08:30Z or 24h)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC)


def parse_period(
    since: str, until: str | None, now: datetime.datetime
) -> tuple[datetime.datetime, datetime.datetime]:
    """``[since, until)``; ``until`` defaults to ``now``."""
    start = parse_moment(since, now)
    end = now if until is None else parse_moment(until, now)
    if end <= start:
        raise InvalidPeriod(f"the period ends ({end.isoformat()}) before it starts")
    return start, end
