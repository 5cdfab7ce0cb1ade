"""Reports from a real ledger (SQLite and PostgreSQL): counts, amounts, the masked list, formats."""

from __future__ import annotations

import csv
import io
import json

from paymentd.ledger import Ledger
from paymentd.reporting.render import render
from paymentd.reporting.report import SESSION_COLUMNS, build_report
from tests.reporting.conftest import DAY, NEXT_DAY, PANS


async def test_counts_and_amounts_of_the_day(day_ledger: Ledger) -> None:
    report = (await build_report(day_ledger, DAY, NEXT_DAY)).as_json()
    assert report["period"] == {"since": "2026-11-02T00:00:00Z", "until": "2026-11-03T00:00:00Z"}
    assert report["sessions"] == {
        "total": 6,
        "by_result": {"success": 3, "declined": 1, "caller-hung-up": 1, "unknown-outcome": 1},
        "by_mode": {"automated": 5, "agent": 1},
    }
    assert report["attempts"]["total"] == 6
    assert report["attempts"]["by_status"] == {
        "approved": 3,
        "declined": 2,
        "unknown": 1,
    }
    assert report["attempts"]["by_brand"] == {"visa": 4, "mastercard": 1, "amex": 1}
    assert report["declines_by_reason"] == {"insufficient_funds": 1, "generic": 1}
    assert report["approved_amounts"] == {"EUR": "10.00", "USD": "175.50"}
    assert report["needs_reconciliation"] == 1
    assert report["truncated"] is False


async def test_the_session_list_is_masked_and_in_order(day_ledger: Ledger) -> None:
    rows = (await build_report(day_ledger, DAY, NEXT_DAY)).as_json()["session_list"]
    assert [row["session_id"] for row in rows] == ["s1", "s2", "s3", "s4", "s5", "s6"]
    first, second, _, hung_up, unknown, _ = rows
    assert first == {
        "started_at": "2026-11-02T09:00:00Z",
        "ended_at": "2026-11-02T09:02:00Z",
        "duration_seconds": 120.0,
        "session_id": "s1",
        "call_uuid": "call-s1",
        "mode": "automated",
        "result": "success",
        "attempts": 1,
        "declines": 0,
        "amount": "125.50",
        "currency": "USD",
        "card": "visa ****4242",
        "confirmation_code": "CONF1",
        "account_id": "ACC-77",
        "reference": "INV-s1",
    }
    # The approved attempt stands for a session that retried after a decline.
    assert (second["card"], second["declines"], second["confirmation_code"]) == (
        "visa ****1111",
        1,
        "CONF2",
    )
    assert (hung_up["card"], hung_up["amount"]) == (None, None)
    assert unknown["card"] == "amex ****0005"


async def test_every_format_says_the_same_and_no_card_number(day_ledger: Ledger) -> None:
    report = await build_report(day_ledger, DAY, NEXT_DAY)
    as_json = render(report, "json")
    assert json.loads(as_json) == report.as_json()

    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert tuple(rows[0]) == SESSION_COLUMNS
    assert [row["result"] for row in rows] == [
        "success",
        "success",
        "declined",
        "caller-hung-up",
        "unknown-outcome",
        "success",
    ]
    assert rows[3]["card"] == ""

    table = render(report, "table")
    assert "Sessions              6" in table
    assert "by result           success 3, caller-hung-up 1, declined 1, unknown-outcome 1" in table
    assert "Approved amounts      EUR 10.00, USD 175.50" in table
    assert "Needs reconciliation  1" in table
    assert table.count("\n2026-11-02T") == 6  # one line per session, from its start time

    for text in (as_json, render(report, "csv"), table):
        for pan in PANS:
            assert pan not in text


async def test_a_limited_list_says_it_is_cut(day_ledger: Ledger) -> None:
    report = await build_report(day_ledger, DAY, NEXT_DAY, limit=2)
    assert [s.session_id for s in report.sessions] == ["s1", "s2"]
    assert report.truncated
    assert report.summary.sessions == 6  # the counts cover the whole period
    assert "(only the first 2 sessions are listed)" in render(report, "table")
    page = await build_report(day_ledger, DAY, NEXT_DAY, limit=10, offset=4)
    assert [s.session_id for s in page.sessions] == ["s5", "s6"]
    assert not page.truncated


async def test_an_empty_period(day_ledger: Ledger) -> None:
    later = NEXT_DAY.replace(day=10)
    report = await build_report(day_ledger, later, later.replace(day=11))
    assert report.summary.sessions == 0
    assert "No sessions in this period." in render(report, "table")
    assert render(report, "csv") == ",".join(SESSION_COLUMNS) + "\n"
