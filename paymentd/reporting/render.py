"""A :class:`~paymentd.reporting.report.SessionReport` as text: ``table``, ``csv`` or ``json``.

- ``table``: the counts, then one line per session, for a person at a terminal;
- ``csv``: the session list, one row per session with a header row (the counts
  are sums over it), for a spreadsheet;
- ``json``: everything, as ``SessionReport.as_json``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence

from paymentd.reporting.report import SESSION_COLUMNS, SessionReport, approved_amounts, session_row

__all__ = ["FORMATS", "render"]

FORMATS = ("table", "csv", "json")

_TABLE_COLUMNS = (
    ("started_at", "started"),
    ("session_id", "session"),
    ("mode", "mode"),
    ("result", "result"),
    ("amount", "amount"),
    ("currency", "cur"),
    ("card", "card"),
    ("declines", "declines"),
    ("confirmation_code", "confirmation"),
    ("reference", "reference"),
)


def render(report: SessionReport, fmt: str) -> str:
    """The report in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return json.dumps(report.as_json(), indent=2, sort_keys=False) + "\n"
    if fmt == "csv":
        return _csv(report)
    if fmt == "table":
        return _table(report)
    raise ValueError(f"unknown report format {fmt!r}; choose from {', '.join(FORMATS)}")


def _csv(report: SessionReport) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SESSION_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in report.sessions:
        row = session_row(record)
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return out.getvalue()


def _counts(counts: Mapping[str, object]) -> str:
    if not counts:
        return "-"
    ordered = sorted(counts.items(), key=lambda item: (-_number(item[1]), item[0]))
    return ", ".join(f"{key} {value}" for key, value in ordered)


def _number(value: object) -> int:
    return value if isinstance(value, int) else 0


def _table(report: SessionReport) -> str:
    period = report.as_json()["period"]
    summary = report.summary
    lines = [
        f"Payment sessions from {period['since']} to {period['until']}",
        "",
        f"Sessions              {summary.sessions}",
        f"  by result           {_counts(summary.sessions_by_result)}",
        f"  by mode             {_counts(summary.sessions_by_mode)}",
        f"Charge attempts       {summary.attempts}",
        f"  by status           {_counts(summary.attempts_by_status)}",
        f"  by card brand       {_counts(summary.attempts_by_brand)}",
        f"Declines by reason    {_counts(summary.declines_by_reason)}",
        f"Approved amounts      {_counts(approved_amounts(summary))}",
        f"Needs reconciliation  {summary.needs_reconciliation}",
        "",
    ]
    if not report.sessions:
        lines.append("No sessions in this period.")
        return "\n".join(lines) + "\n"
    rows = [
        [_cell(session_row(record)[key]) for key, _title in _TABLE_COLUMNS]
        for record in report.sessions
    ]
    lines += _aligned([title for _key, title in _TABLE_COLUMNS], rows)
    if report.truncated:
        lines.append(f"(only the first {len(report.sessions)} sessions are listed)")
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def _aligned(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    return [line(header).rstrip(), *(line(row).rstrip() for row in rows)]
