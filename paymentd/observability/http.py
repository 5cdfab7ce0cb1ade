"""HTTP metrics: every request counted by route template, method and status.

The route label is the route's template (``/v1/sessions/{id}``), never the
path itself, so ids and tokens in URLs never become label values; a request
that matches no route is ``unmatched``.
"""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.typedefs import Handler

from paymentd.metrics import Metrics

__all__ = ["install_http_metrics", "route_label"]

_AUTH_FAILURES = (401, 403)
# A client can send any method name: keep the label's vocabulary fixed.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_label(request: web.Request) -> str:
    """The matched route's template, or ``unmatched``."""
    info = request.match_info
    if isinstance(info, web.UrlMappingMatchInfo) and not info.http_exception:
        resource = info.route.resource
        if resource is not None:
            return resource.canonical
    return "unmatched"


def install_http_metrics(app: web.Application, metrics: Metrics) -> None:
    """Measure every request ``app`` answers (call before the app starts)."""

    @web.middleware
    async def measure(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.monotonic()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            route = route_label(request)
            method = request.method if request.method in _METHODS else "other"
            metrics.http_requests.labels(route, method, str(status)).inc()
            metrics.http_latency.labels(route, method).observe(time.monotonic() - started)
            if status in _AUTH_FAILURES:
                metrics.http_auth_failures.labels(route).inc()

    # Outermost, so that answers other middlewares give (a refused token) are counted too.
    app.middlewares.insert(0, measure)
