"""``GET /v1/reports/sessions``: the report over HTTP, behind a bearer token.

Query: ``since`` (default ``24h``), ``until`` (default now), ``format``
(``json``, the default, or ``csv``), ``limit`` and ``offset`` for the session
list (the counts always cover the whole period).  Errors are JSON
``{"error": ...}`` with status 400.
"""

from __future__ import annotations

import datetime
import logging

from aiohttp import web

from paymentd.httpauth import BearerTokens, require_bearer
from paymentd.ledger import Ledger
from paymentd.reporting.config import ReportingConfig
from paymentd.reporting.period import InvalidPeriod, parse_period
from paymentd.reporting.render import render
from paymentd.reporting.report import build_report

__all__ = ["REPORT_ROUTE", "add_report_routes"]

log = logging.getLogger("paymentd.reporting")

REPORT_ROUTE = "/v1/reports/sessions"


class _BadQuery(ValueError):
    pass


def _whole(request: web.Request, name: str, default: int | None, maximum: int) -> int | None:
    text = request.query.get(name)
    if text is None:
        return default
    if not text.isdigit():
        raise _BadQuery(f"{name} must be a whole number")
    return min(int(text), maximum)


def add_report_routes(app: web.Application, ledger: Ledger, config: ReportingConfig) -> None:
    """Register the report route on ``app``, protected by ``config.tokens``."""

    async def sessions_report(request: web.Request) -> web.StreamResponse:
        now = datetime.datetime.now(datetime.UTC)
        query = request.query
        fmt = query.get("format", "json")
        try:
            if fmt not in ("json", "csv"):
                raise _BadQuery("format must be json or csv")
            since, until = parse_period(query.get("since", "24h"), query.get("until"), now)
            limit = _whole(request, "limit", config.max_sessions, config.max_sessions)
            offset = _whole(request, "offset", 0, 2**31) or 0
        except (InvalidPeriod, _BadQuery) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        report = await build_report(ledger, since, until, limit=limit, offset=offset)
        if fmt == "csv":
            return web.Response(text=render(report, "csv"), content_type="text/csv")
        return web.json_response(report.as_json())

    app.router.add_get(REPORT_ROUTE, require_bearer(BearerTokens(config.tokens), sessions_report))
