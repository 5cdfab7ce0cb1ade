"""HTTP metrics on a real aiohttp server: labels from route templates and fixed vocabularies."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from paymentd.http import start_http
from paymentd.metrics import Metrics
from paymentd.observability.http import install_http_metrics

PAN = "4242424242424242"


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, Metrics]]:
    metrics = Metrics()
    app = web.Application()

    async def thing(request: web.Request) -> web.Response:
        return web.json_response({"id": request.match_info["id"]})

    async def forbidden(_request: web.Request) -> web.Response:
        raise web.HTTPForbidden()

    async def broken(_request: web.Request) -> web.Response:
        raise RuntimeError("bug")

    app.router.add_get("/v1/things/{id}", thing)
    app.router.add_post("/v1/locked", forbidden)
    app.router.add_get("/v1/broken", broken)
    install_http_metrics(app, metrics)
    runner, port = await start_http(app, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{port}", metrics
    await runner.cleanup()


def count(metrics: Metrics, route: str, method: str, status: str) -> float:
    labels = {"route": route, "method": method, "status": status}
    return metrics.registry.get_sample_value("paymentd_http_requests_total", labels) or 0.0


async def test_labels_never_carry_the_path(served: tuple[str, Metrics]) -> None:
    base, metrics = served
    async with aiohttp.ClientSession() as http:
        for path in (f"/v1/things/{PAN}", "/v1/things/7"):
            async with http.get(base + path) as resp:
                assert resp.status == 200
        async with http.get(f"{base}/nothing/{PAN}") as resp:
            assert resp.status == 404
        async with http.request("PURGE", f"{base}/v1/things/1") as resp:
            assert resp.status == 405
        async with http.post(f"{base}/v1/locked") as resp:
            assert resp.status == 403
        async with http.get(f"{base}/v1/broken") as resp:
            assert resp.status == 500

    assert count(metrics, "/v1/things/{id}", "GET", "200") == 2
    assert count(metrics, "unmatched", "GET", "404") == 1
    assert count(metrics, "unmatched", "other", "405") == 1
    assert count(metrics, "/v1/locked", "POST", "403") == 1
    assert count(metrics, "/v1/broken", "GET", "500") == 1
    auth = metrics.registry.get_sample_value(
        "paymentd_http_auth_failures_total", {"route": "/v1/locked"}
    )
    assert auth == 1
    latency = metrics.registry.get_sample_value(
        "paymentd_http_request_duration_seconds_count",
        {"route": "/v1/things/{id}", "method": "GET"},
    )
    assert latency == 2
    exposition = metrics.render().decode()
    assert PAN not in exposition
    assert "/v1/things/7" not in exposition
