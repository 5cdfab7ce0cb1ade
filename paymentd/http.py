"""The HTTP server: health, metrics, and the routes other rooms add (agent API, reports)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from paymentd.metrics import Metrics

__all__ = ["HealthCheck", "build_http_app", "start_http"]

log = logging.getLogger("paymentd.http")

#: Returns (healthy, details) for ``/healthz``.
HealthCheck = Callable[[], tuple[bool, dict[str, object]]]


def build_http_app(metrics: Metrics, health: HealthCheck) -> web.Application:
    """An aiohttp application with ``/healthz`` and ``/metrics``."""
    app = web.Application(client_max_size=64 * 1024)

    async def healthz(_request: web.Request) -> web.Response:
        healthy, details = health()
        return web.json_response(
            {"status": "ok" if healthy else "degraded", **details},
            status=200 if healthy else 503,
        )

    async def metrics_route(_request: web.Request) -> web.Response:
        response = web.Response(body=metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_route)
    return app


async def start_http(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start serving ``app``; returns the runner and the bound port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = port
    for address in runner.addresses:
        # (host, port) for IPv4, (host, port, flow, scope) for IPv6
        bound = int(address[1])
        break
    log.info("HTTP listening on %s:%d", host, bound)
    return runner, bound
