"""``GET /v1/reports/sessions``: the report over HTTP, behind a bearer token.

Query: ``since`` (default ``24h``), ``until`` (default now), ``format``
(``json``, the default, or ``csv``), ``limit`` and ``offset`` for the session
list (the counts always cover the whole period).

The token is checked as the agent API checks its own (the same
:class:`~paymentd.httpauth.BearerTokens`, the same refusals), against
``reporting.tokens``: reading every session's history is a different right from
taking payments on a desktop.  Errors are JSON ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from paymentd.httpauth import BearerTokens, error
from paymentd.ledger import Ledger
from paymentd.reporting.config import ReportingConfig
from paymentd.reporting.period import InvalidPeriod, parse_period
from paymentd.reporting.render import render
from paymentd.reporting.report import build_report

__all__ = ["REPORT_ROUTE", "add_report_routes"]

log = logging.getLogger("paymentd.reporting")

REPORT_ROUTE = "/v1/reports/sessions"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _BadQuery(ValueError):
    pass


def _whole(request: web.Request, name: str, default: int | None, maximum: int) -> int | None:
    text = request.query.get(name)
    if text is None:
        return default
    if not text.isdigit():
        raise _BadQuery(f"{name} must be a whole number")
    return min(int(text), maximum)


def _require_token(tokens: tuple[str, ...], handler: Handler) -> Handler:
    """``handler``, refusing with 401 any request without one of ``tokens``."""
    known = BearerTokens(tokens)

    async def guarded(request: web.Request) -> web.StreamResponse:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        # With no token configured, no token can match: the route is off.
        if scheme.lower() != "bearer" or not token or known.match(token) is None:
            reason = "invalid_token" if token else "missing_token"
            log.warning("reports: refused %s from %s (%s)", request.path, request.remote, reason)
            response = error(401, reason, "a valid bearer token is required")
            response.headers["WWW-Authenticate"] = 'Bearer realm="paymentd"'
            return response
        return await handler(request)

    return guarded


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
            return error(400, "invalid_query", str(exc))
        report = await build_report(ledger, since, until, limit=limit, offset=offset)
        if fmt == "csv":
            return web.Response(text=render(report, "csv"), content_type="text/csv")
        return web.json_response(report.as_json())

    app.router.add_get(REPORT_ROUTE, _require_token(config.tokens, sessions_report))
