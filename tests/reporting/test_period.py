"""Reading report periods."""

from __future__ import annotations

import datetime

import pytest

from paymentd.reporting.period import InvalidPeriod, parse_moment, parse_period

NOW = datetime.datetime(2026, 11, 27, 15, 30, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("90m", NOW - datetime.timedelta(minutes=90)),
        ("24h", NOW - datetime.timedelta(hours=24)),
        ("7d", NOW - datetime.timedelta(days=7)),
        ("2w", NOW - datetime.timedelta(weeks=2)),
        ("30s", NOW - datetime.timedelta(seconds=30)),
        ("2026-11-01", datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)),
        ("2026-11-01T08:30", datetime.datetime(2026, 11, 1, 8, 30, tzinfo=datetime.UTC)),
        ("2026-11-01T08:30Z", datetime.datetime(2026, 11, 1, 8, 30, tzinfo=datetime.UTC)),
        ("2026-11-01T08:30:00+01:00", datetime.datetime(2026, 11, 1, 7, 30, tzinfo=datetime.UTC)),
        (" 2026-11-01 ", datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)),
    ],
)
def test_moments(text: str, expected: datetime.datetime) -> None:
    moment = parse_moment(text, NOW)
    assert moment == expected
    assert moment.utcoffset() == datetime.timedelta(0)


@pytest.mark.parametrize("text", ["", "yesterday", "24", "h", "-1d", "1y", "2026-13-01", "1e3h"])
def test_unreadable_moments(text: str) -> None:
    with pytest.raises(InvalidPeriod):
        parse_moment(text, NOW)


def test_a_period_defaults_to_now_and_must_not_run_backwards() -> None:
    assert parse_period("1h", None, NOW) == (NOW - datetime.timedelta(hours=1), NOW)
    with pytest.raises(InvalidPeriod, match="before it starts"):
        parse_period("now", "1h", NOW)
    with pytest.raises(InvalidPeriod):
        parse_period("2026-11-02", "2026-11-02", NOW)
