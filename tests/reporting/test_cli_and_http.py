"""``paymentd report`` on a real SQLite ledger, and ``GET /v1/reports/sessions`` over HTTP."""

from __future__ import annotations

import asyncio
import csv
import datetime
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from paymentd.cli import main
from paymentd.http import build_http_app, start_http
from paymentd.ledger import Ledger, LedgerConfig, open_ledger
from paymentd.metrics import Metrics
from paymentd.observability.http import install_http_metrics
from paymentd.reporting.config import ReportingConfig
from paymentd.reporting.http import REPORT_ROUTE, add_report_routes
from tests.reporting.conftest import PANS, Clock, write_day

TOKEN = "reports-token-0123456789abcdef"


def write_ledger(path: Path) -> None:
    async def write() -> None:
        clock = Clock()
        ledger = await open_ledger(LedgerConfig(path=str(path)), clock)
        try:
            await write_day(ledger, clock)
        finally:
            await ledger.close()

    asyncio.run(write())


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    ledger = tmp_path / "ledger.sqlite3"
    write_ledger(ledger)
    config = tmp_path / "paymentd.toml"
    config.write_text(f'[ledger]\npath = "{ledger}"\n')
    return config


def report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cli_reports_the_day_in_each_format(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    period = ["--config", str(config_file), "--since", "2026-11-02", "--until", "2026-11-03"]
    code, out, _ = report(capsys, *period, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["sessions"]["total"] == 6
    assert data["approved_amounts"] == {"EUR": "10.00", "USD": "175.50"}

    code, out, _ = report(capsys, *period, "--format", "csv")
    assert code == 0
    assert [row["session_id"] for row in csv.DictReader(io.StringIO(out))] == [
        "s1",
        "s2",
        "s3",
        "s4",
        "s5",
        "s6",
    ]

    code, table, _ = report(capsys, *period)
    assert code == 0
    assert table.startswith("Payment sessions from 2026-11-02T00:00:00Z to 2026-11-03T00:00:00Z")
    assert "visa ****4242" in table
    for text in (out, table):
        assert not any(pan in text for pan in PANS)


def test_the_cli_takes_times_and_limits(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = report(
        capsys,
        "--config",
        str(config_file),
        "--since",
        "2026-11-02T10:00Z",
        "--until",
        "2026-11-02T13:00:00+00:00",
        "--format",
        "json",
        "--limit",
        "1",
    )
    assert code == 0
    data = json.loads(out)
    assert data["sessions"]["total"] == 3  # s2, s3, s4
    assert [row["session_id"] for row in data["session_list"]] == ["s2"]
    assert data["truncated"] is True


def test_the_cli_explains_bad_input(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = report(capsys, "--config", str(config_file), "--since", "yesterday")
    assert (code, out) == (2, "")
    assert "not a date, a time or a span: 'yesterday'" in err

    code, _, err = report(
        capsys, "--config", str(config_file), "--since", "2026-11-03", "--until", "2026-11-02"
    )
    assert code == 2
    assert "before it starts" in err

    missing = tmp_path / "missing.toml"
    missing.write_text(f'[ledger]\npath = "{tmp_path / "nope.sqlite3"}"\n')
    code, _, err = report(capsys, "--config", str(missing))
    assert code == 2
    assert "there is no SQLite ledger" in err

    with pytest.raises(SystemExit):
        main(["report", "--limit", "-1"])


# --- HTTP ------------------------------------------------------------------------------------


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    clock = Clock()
    opened = await open_ledger(LedgerConfig(path=str(tmp_path / "ledger.sqlite3")), clock)
    await write_day(opened, clock)
    yield opened
    await opened.close()


class Server:
    def __init__(self, base: str, metrics: Metrics, http: aiohttp.ClientSession) -> None:
        self.base = base
        self.metrics = metrics
        self.http = http

    async def get(
        self, query: str = "", token: str | None = TOKEN
    ) -> tuple[int, str, aiohttp.ClientResponse]:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        async with self.http.get(f"{self.base}{REPORT_ROUTE}{query}", headers=headers) as resp:
            return resp.status, await resp.text(), resp


async def serve(ledger: Ledger, config: ReportingConfig) -> AsyncIterator[Server]:
    metrics = Metrics()
    app = build_http_app(metrics, lambda: (True, {}))
    install_http_metrics(app, metrics)
    add_report_routes(app, ledger, config)
    runner, port = await start_http(app, "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            yield Server(f"http://127.0.0.1:{port}", metrics, http)
    finally:
        await runner.cleanup()


@pytest.fixture
async def server(ledger: Ledger) -> AsyncIterator[Server]:
    async for running in serve(ledger, ReportingConfig(tokens=(TOKEN,), max_sessions=4)):
        yield running


async def test_the_route_answers_json_and_csv(server: Server) -> None:
    status, body, resp = await server.get("?since=2026-11-02&until=2026-11-03")
    assert status == 200
    assert resp.content_type == "application/json"
    data = json.loads(body)
    assert data["sessions"]["total"] == 6
    # max_sessions caps the list; the counts still cover the period.
    assert len(data["session_list"]) == 4
    assert data["truncated"] is True
    assert not any(pan in body for pan in PANS)

    status, body, resp = await server.get("?since=2026-11-02&until=2026-11-03&format=csv&offset=4")
    assert status == 200
    assert resp.content_type == "text/csv"
    assert [r["session_id"] for r in csv.DictReader(io.StringIO(body))] == ["s5", "s6"]


async def test_the_default_period_is_the_last_day(server: Server) -> None:
    status, body, _ = await server.get()
    assert status == 200
    data = json.loads(body)
    until = datetime.datetime.fromisoformat(data["period"]["until"])
    since = datetime.datetime.fromisoformat(data["period"]["since"])
    assert until - since == datetime.timedelta(hours=24)
    now = datetime.datetime.now(datetime.UTC)
    assert now - datetime.timedelta(minutes=1) < until <= now


async def test_requests_without_the_token_are_refused_and_counted(server: Server) -> None:
    for token in (None, "wrong-token-0123456789abcdef", ""):
        status, body, resp = await server.get(token=token)
        assert status == 401
        assert resp.headers["WWW-Authenticate"] == 'Bearer realm="paymentd"'
        assert "session_list" not in body
        assert json.loads(body)["error"]["code"] in ("missing_token", "invalid_token")
    failures = server.metrics.registry.get_sample_value(
        "paymentd_http_auth_failures_total", {"route": REPORT_ROUTE}
    )
    assert failures == 3
    requests = server.metrics.registry.get_sample_value(
        "paymentd_http_requests_total", {"route": REPORT_ROUTE, "method": "GET", "status": "401"}
    )
    assert requests == 3


async def test_bad_queries_are_400(server: Server) -> None:
    for query in ("?since=soon", "?since=2026-11-03&until=2026-11-02", "?format=xml", "?limit=x"):
        status, body, _ = await server.get(query)
        assert status == 400, query
        assert json.loads(body)["error"]["code"] == "invalid_query"


async def test_without_tokens_the_route_is_off(ledger: Ledger) -> None:
    async for running in serve(ledger, ReportingConfig()):
        status, body, _ = await running.get()
        assert status == 401
        assert json.loads(body)["error"]["code"] == "invalid_token"
