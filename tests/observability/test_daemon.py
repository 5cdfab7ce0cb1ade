"""The running daemon against the FreeSWITCH simulator, over real sockets: the metrics it
serves, the secure segment on the call (events other listeners see, variables the CDR
carries), the report of what happened, and no card data in any of them."""

from __future__ import annotations

import datetime
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from paymentd.app import Daemon
from paymentd.config import Config, EslConfig, HttpConfig, ListenAddress, SoundsConfig
from paymentd.gateways.config import GatewayConfig, SandboxConfig
from paymentd.ledger import LedgerConfig
from paymentd.logs import configure_logging
from paymentd.reporting.config import ReportingConfig
from paymentd.testing import CallResult, FreeSwitchSimulator, FsEvent, Script, when_playing
from tests.agent.harness import wait_until

TOKEN = "reports-token-0123456789abcdef"
VISA = "4242424242424242"
DECLINED = "4000000000000002"
BAD_LUHN = "4111111111111112"
CVV = "737"
EXPIRY = "1230"
PANS = (VISA, DECLINED, BAD_LUHN)
PAY = {"paymentd_amount": "12.50", "paymentd_customer_verified": "true"}
SEGMENT = "CUSTOM paymentd::segment"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    config = Config(
        esl=EslConfig(listen=ListenAddress("127.0.0.1", 0), linger_seconds=5),
        http=HttpConfig(listen=ListenAddress("127.0.0.1", 0)),
        ledger=LedgerConfig(path=str(tmp_path / "ledger.sqlite3")),
        gateway=GatewayConfig(sandbox=SandboxConfig(latency_seconds=0)),
        sounds=SoundsConfig(readback_directory=str(tmp_path / "readback")),
        reporting=ReportingConfig(tokens=(TOKEN,)),
    )
    running = Daemon(config)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """paymentd's JSON log, as a deployment configures it."""
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("info", "json", stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
async def simulator() -> AsyncIterator[FreeSwitchSimulator]:
    sim = FreeSwitchSimulator(time_scale=0.02)
    yield sim
    await sim.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def card_entry(*pans: str) -> list[object]:
    """Rules for a caller who keys these cards in turn, confirming every read-back."""
    return [
        when_playing("press_1_to_pay").press("1"),
        *(when_playing("enter_card_number").press(pan + "#", gap=0.01) for pan in pans),
        when_playing("confirm_or_reenter").press("1").every_time(),
        when_playing("enter_expiry").press(EXPIRY, gap=0.01).every_time(),
        when_playing("enter_cvv_3").press(CVV, gap=0.01).every_time(),
    ]


async def place(
    daemon: Daemon, simulator: FreeSwitchSimulator, *rules: object
) -> tuple[CallResult, list[FsEvent]]:
    assert daemon.esl is not None
    call = await simulator.place_call(
        ("127.0.0.1", daemon.esl.port),
        variables=PAY,
        caller=Script(*rules),  # type: ignore[arg-type]
    )
    result = await call.wait_closed(timeout=30)
    # paymentd lets go of the call before its bookkeeping (ledger, hooks, the last log
    # lines): the session is over once its task is.
    await wait_until(
        lambda: daemon.esl is not None and daemon.esl.active_calls == 0,
        what="the daemon to finish the session",
    )
    events = [e for e in simulator.bus_events(SEGMENT) if e.get("Paymentd-Call-UUID") == call.uuid]
    return result, events


async def scrape(daemon: Daemon, http: aiohttp.ClientSession) -> tuple[str, Samples]:
    async with http.get(f"http://127.0.0.1:{daemon.http_port}/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return text, samples


def at(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def report(daemon: Daemon, http: aiohttp.ClientSession) -> tuple[str, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    url = f"http://127.0.0.1:{daemon.http_port}/v1/reports/sessions?since=1h"
    async with http.get(url, headers=headers) as resp:
        assert resp.status == 200
        text = await resp.text()
    return text, json.loads(text)


def hangup_complete(simulator: FreeSwitchSimulator, uuid: str) -> FsEvent:
    """The CDR-time event of the call (what mod_cdr and event consumers record)."""
    (event,) = [
        e for e in simulator.bus_events("CHANNEL_HANGUP_COMPLETE") if e.get("Unique-ID") == uuid
    ]
    return event


def assert_no_card_data(*texts: str) -> None:
    for text in texts:
        for pan in PANS:
            assert pan not in text
            # Grouped as a person would write it.
            assert " ".join(pan[i : i + 4] for i in range(0, 16, 4)) not in text


def assert_no_card_values(samples: Samples, events: list[FsEvent], result: CallResult) -> None:
    """No label, event header or variable holds a PAN, the CVV or the expiry."""
    values = [v for (_name, labels), _ in samples.items() for _k, v in labels]
    values += [v for e in events for _k, v in e.headers]
    values += [v for k, v in result.variables.items() if k.startswith("paymentd_segment")]
    for value in values:
        assert value not in (CVV, EXPIRY)
        assert not any(pan in value for pan in PANS)


async def test_a_paid_call(
    daemon: Daemon, simulator: FreeSwitchSimulator, http: aiohttp.ClientSession
) -> None:
    result, events = await place(daemon, simulator, *card_entry(VISA))
    variables = result.variables
    assert variables["paymentd_result"] == "success"
    session_id = variables["paymentd_session_id"]

    # The segment: a start and an end event that a CUSTOM (and an ALL) listener receives.
    start, end = events
    assert [e.get("Paymentd-Segment-Phase") for e in events] == ["start", "end"]
    for event in events:
        assert event.name == "CUSTOM"
        assert event.subclass == "paymentd::segment"
        assert event.get("Paymentd-Session-ID") == session_id
        assert event.get("Paymentd-Mode") == "automated"
        # Fired without Unique-ID: with divert_events on, one with it would reach only us.
        assert event.unique_id is None
    assert end.get("Paymentd-Result") == "success"
    assert end.get("Paymentd-Route") == "resume"
    assert start.get("Paymentd-Segment-Start") == end.get("Paymentd-Segment-Start")
    assert all(e in simulator.bus_events("ALL") for e in events)

    # The variables, on the channel and in its CDR-time event.
    began = datetime.datetime.fromisoformat(variables["paymentd_segment_start"])
    ended = datetime.datetime.fromisoformat(variables["paymentd_segment_end"])
    assert began < ended
    assert variables["paymentd_segment_session_id"] == session_id
    assert variables["paymentd_segment_mode"] == "automated"
    assert variables["paymentd_segment_result"] == "success"
    assert variables["paymentd_segment_end"] == end.get("Paymentd-Segment-End")
    cdr = hangup_complete(simulator, result.uuid)
    assert cdr.get("variable_paymentd_segment_session_id") == session_id
    assert cdr.get("variable_paymentd_segment_result") == "success"

    text, samples = await scrape(daemon, http)
    assert at(samples, "paymentd_sessions_started_total", mode="automated") == 1
    assert at(samples, "paymentd_sessions_active", mode="automated") == 0
    completed = {"mode": "automated", "result": "success"}
    assert at(samples, "paymentd_sessions_completed_total", **completed) == 1
    assert at(samples, "paymentd_session_duration_seconds_count", **completed) == 1
    for field in ("amount", "card_number", "expiry", "cvv"):
        assert at(samples, "paymentd_field_attempts_total", field=field, outcome="ok") == 1, field
    assert at(samples, "paymentd_field_attempts_total", field="confirm", outcome="ok") == 3
    route = {"mode": "automated", "result": "success", "action": "resume"}
    assert at(samples, "paymentd_session_routes_total", **route) == 1
    charge = {"gateway": "sandbox", "operation": "charge", "outcome": "approved"}
    assert at(samples, "paymentd_gateway_requests_total", **charge) == 1
    assert (
        at(samples, "paymentd_charge_duration_seconds_count", gateway="sandbox", outcome="approved")
        == 1
    )
    assert at(samples, "paymentd_esl_connections_total", status="accepted") == 1
    assert at(samples, "paymentd_esl_active_connections") == 0
    api = {"connection": "outbound", "command": "api"}
    assert at(samples, "paymentd_esl_command_duration_seconds_count", **api) >= 10
    for phase in ("start", "end"):
        assert at(samples, "paymentd_segment_marks_total", phase=phase, outcome="ok") == 1
    assert at(samples, "paymentd_ledger_attempts_pending_reconciliation") == 0
    assert at(samples, "paymentd_build_info", version="0.1.0", python=samples_python(samples)) == 1

    body, data = await report(daemon, http)
    (row,) = data["session_list"]
    assert row["session_id"] == session_id
    assert (row["result"], row["card"], row["amount"]) == ("success", "visa ****4242", "12.50")

    # The scrapes and the report were themselves counted (a scrape shows those before it).
    _, later = await scrape(daemon, http)
    metrics_get = {"route": "/metrics", "method": "GET", "status": "200"}
    assert at(later, "paymentd_http_requests_total", **metrics_get) == 1
    report_get = {"route": "/v1/reports/sessions", "method": "GET", "status": "200"}
    assert at(later, "paymentd_http_requests_total", **report_get) == 1

    assert_no_card_data(text, body, simulator.bus_text(SEGMENT))
    assert_no_card_values(samples, events, result)


def samples_python(samples: Samples) -> str:
    (labels,) = [dict(k[1]) for k in samples if k[0] == "paymentd_build_info"]
    return labels["python"]


async def test_a_decline_then_another_card(
    daemon: Daemon, simulator: FreeSwitchSimulator, http: aiohttp.ClientSession
) -> None:
    result, events = await place(daemon, simulator, *card_entry(DECLINED, VISA))
    assert result.variables["paymentd_result"] == "success"
    assert result.variables["paymentd_decline_count"] == "1"
    assert events[-1].get("Paymentd-Result") == "success"

    text, samples = await scrape(daemon, http)
    assert at(samples, "paymentd_declines_total", mode="automated", reason="generic") == 1
    for outcome in ("declined", "approved"):
        labels = {"gateway": "sandbox", "operation": "charge", "outcome": outcome}
        assert at(samples, "paymentd_gateway_requests_total", **labels) == 1
    assert at(samples, "paymentd_field_attempts_total", field="card_number", outcome="ok") == 2

    body, data = await report(daemon, http)
    (row,) = data["session_list"]
    assert (row["attempts"], row["declines"], row["card"]) == (2, 1, "visa ****4242")
    assert data["declines_by_reason"] == {"generic": 1}
    assert_no_card_data(text, body, simulator.bus_text(SEGMENT))
    assert_no_card_values(samples, events, result)


async def test_a_caller_who_hangs_up_after_a_bad_number(
    daemon: Daemon, simulator: FreeSwitchSimulator, http: aiohttp.ClientSession
) -> None:
    rules = [
        when_playing("press_1_to_pay").press("1"),
        when_playing("enter_card_number").press(BAD_LUHN + "#", gap=0.01),
        when_playing("card_number_invalid").hang_up(),
    ]
    result, events = await place(daemon, simulator, *rules)

    # The segment started on the channel; the caller left before it could be closed there.
    variables = result.variables
    assert variables["paymentd_segment_session_id"] == events[0].get("Paymentd-Session-ID")
    assert "paymentd_segment_end" not in variables
    assert "variable_paymentd_segment_start" in dict(
        hangup_complete(simulator, result.uuid).headers
    )

    text, samples = await scrape(daemon, http)
    completed = {"mode": "automated", "result": "caller-hung-up"}
    assert at(samples, "paymentd_sessions_completed_total", **completed) == 1
    route = {"mode": "automated", "result": "caller-hung-up", "action": "none"}
    assert at(samples, "paymentd_session_routes_total", **route) == 1
    assert at(samples, "paymentd_field_attempts_total", field="card_number", outcome="invalid") == 1
    error = {"field": "card_number", "error": "card_number_luhn_check_failed"}
    assert at(samples, "paymentd_field_errors_total", **error) == 1
    assert at(samples, "paymentd_sessions_active", mode="automated") == 0
    # The end marker went out while the socket lingered, or was skipped once it closed.
    ended = sum(
        at(samples, "paymentd_segment_marks_total", phase="end", outcome=o)
        for o in ("ok", "skipped")
    )
    assert ended == 1
    if len(events) == 2:
        assert events[1].get("Paymentd-Result") == "caller-hung-up"
        assert events[1].get("Paymentd-Route") == "none"

    body, data = await report(daemon, http)
    assert data["sessions"] == {
        "total": 1,
        "by_result": {"caller-hung-up": 1},
        "by_mode": {"automated": 1},
    }
    assert_no_card_data(text, body, simulator.bus_text(SEGMENT))
    assert_no_card_values(samples, events, result)


async def test_call_logs_carry_the_call_and_session_ids(
    daemon: Daemon, simulator: FreeSwitchSimulator, log_lines: io.StringIO
) -> None:
    result, _ = await place(daemon, simulator, *card_entry(VISA))
    session_id = result.variables["paymentd_session_id"]
    records = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    about_call = [r for r in records if r.get("call_id") == result.uuid]
    messages = [r["msg"] for r in about_call]
    assert "payment session started" in messages
    assert "payment session ended" in messages
    assert all(r.get("session_id") == session_id for r in about_call)
    assert_no_card_data(log_lines.getvalue())
