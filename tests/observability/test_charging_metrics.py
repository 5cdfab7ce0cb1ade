"""Gateway and charging metrics: the real sandbox gateway, charging service and SQLite ledger."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from paymentd.gateways.base import TokenizingGateway
from paymentd.gateways.config import GatewayConfig, SandboxConfig, StripeConfig
from paymentd.gateways.sandbox import SandboxGateway
from paymentd.gateways.service import ChargingService
from paymentd.gateways.stripe import StripeGateway
from paymentd.ledger import Ledger, LedgerConfig, open_ledger
from paymentd.metrics import Metrics
from paymentd.observability.charging import MeasuredCharger, ReconciliationGauge, measure_gateway
from paymentd.payments import Approved, Declined, Unknown
from tests.gateways.support import GENERIC_DECLINE, SUCCESS, charge_request
from tests.observability.support import value


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    opened = await open_ledger(LedgerConfig(path=str(tmp_path / "ledger.sqlite3")))
    yield opened
    await opened.close()


async def test_gateway_requests_are_counted_and_timed() -> None:
    metrics = Metrics()
    gateway = measure_gateway(SandboxGateway(SandboxConfig(latency_seconds=0.05), 5.0), metrics)
    assert gateway.name == "sandbox"
    # Created at zero before any request, for alerts on increase().
    assert (
        metrics.registry.get_sample_value(
            "paymentd_gateway_requests_total",
            {"gateway": "sandbox", "operation": "charge", "outcome": "unknown"},
        )
        == 0
    )
    approved = charge_request(SUCCESS)
    assert isinstance(await gateway.charge(approved), Approved)
    assert isinstance(await gateway.charge(charge_request(GENERIC_DECLINE)), Declined)
    assert isinstance(await gateway.lookup(approved.idempotency_key), Approved)
    assert await gateway.lookup("never-sent") is None
    await gateway.close()

    def requests(operation: str, outcome: str) -> float:
        labels = {"gateway": "sandbox", "operation": operation, "outcome": outcome}
        return value(metrics, "paymentd_gateway_requests_total", **labels)

    assert requests("charge", "approved") == 1
    assert requests("charge", "declined") == 1
    assert requests("lookup", "approved") == 1
    assert requests("lookup", "not_found") == 1
    latency = "paymentd_gateway_request_duration_seconds"
    assert value(metrics, f"{latency}_count", gateway="sandbox", operation="charge") == 2
    assert value(metrics, f"{latency}_sum", gateway="sandbox", operation="charge") >= 0.09


async def test_a_tokenizing_gateway_stays_tokenizing() -> None:
    metrics = Metrics()
    async with aiohttp.ClientSession() as session:
        stripe = StripeGateway(StripeConfig(api_key="sk_test_x"), session, 5.0)
        measured = measure_gateway(stripe, metrics)
        # The charging service tokenizes first only for a TokenizingGateway.
        assert isinstance(measured, TokenizingGateway)
        sandbox = measure_gateway(SandboxGateway(SandboxConfig(), 5.0), metrics)
        assert not isinstance(sandbox, TokenizingGateway)


async def test_an_unknown_outcome_is_counted_and_the_gauge_follows_the_ledger(
    ledger: Ledger,
) -> None:
    metrics = Metrics()
    # The sandbox loses every request: the charge times out and its look-ups find nothing.
    config = GatewayConfig(
        timeout_seconds=0.2,
        lookup_attempts=1,
        lookup_interval_seconds=0.01,
        sandbox=SandboxConfig(latency_seconds=0, fault="timeout"),
    )
    gateway = measure_gateway(SandboxGateway(config.sandbox, config.timeout_seconds), metrics)
    service = ChargingService(ledger, gateway, config)
    gauge = ReconciliationGauge(ledger, metrics, interval=3600)
    assert await gauge.refresh() == 0
    charger = MeasuredCharger(service, metrics, "sandbox", gauge)

    outcome = await charger.charge(charge_request(SUCCESS))

    assert isinstance(outcome, Unknown)
    assert value(metrics, "paymentd_gateway_unknown_outcomes_total", gateway="sandbox") == 1
    assert value(metrics, "paymentd_ledger_attempts_pending_reconciliation") == 1
    wait = "paymentd_charge_duration_seconds_count"
    assert value(metrics, wait, gateway="sandbox", outcome="unknown") == 1
    labels = {"gateway": "sandbox", "operation": "charge", "outcome": "unknown"}
    assert value(metrics, "paymentd_gateway_requests_total", **labels) == 1
    lookups = {"gateway": "sandbox", "operation": "lookup", "outcome": "not_found"}
    assert value(metrics, "paymentd_gateway_requests_total", **lookups) == 1

    # Resolved by recovery (here: the gateway has no record, long enough ago).
    settled = ChargingService(ledger, gateway, GatewayConfig(settle_seconds=0))
    await settled.recover()
    assert await gauge.refresh() == 0
    assert value(metrics, "paymentd_ledger_attempts_pending_reconciliation") == 0


async def test_the_gauge_refreshes_in_the_background(ledger: Ledger) -> None:
    metrics = Metrics()
    metrics.pending_reconciliation.set(7)  # stale
    gauge = ReconciliationGauge(ledger, metrics, interval=0.01)
    gauge.start()
    try:
        for _ in range(100):
            if value(metrics, "paymentd_ledger_attempts_pending_reconciliation") == 0:
                break
            await asyncio.sleep(0.01)
    finally:
        await gauge.close()
    assert value(metrics, "paymentd_ledger_attempts_pending_reconciliation") == 0
