"""Several daemons on one PostgreSQL ledger: concurrent charges, recovery without conflicts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import aiohttp
import asyncpg
import pytest

from paymentd.gateways import ChargingService, GatewayConfig, RestConfig
from paymentd.gateways.rest import RestGateway
from paymentd.ledger import AttemptStatus, Ledger, LedgerConfig, NewAttempt, open_ledger
from paymentd.payments import Approved
from tests.gateways import support
from tests.gateways.processor import SECRET, Processor
from tests.ledger.postgres import PostgresCluster

pytestmark = pytest.mark.postgres

CONFIG = GatewayConfig(timeout_seconds=5, lookup_attempts=1, settle_seconds=0)
EPOCH, FAR = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


async def daemon(
    config: LedgerConfig, processor: Processor, http: aiohttp.ClientSession
) -> ChargingService:
    gateway = RestGateway(RestConfig(url=processor.url, signing_secret=SECRET), http, 5)
    return ChargingService(await open_ledger(config), gateway, CONFIG)


@pytest.fixture
async def shared(postgresql_cluster: PostgresCluster) -> LedgerConfig:
    return LedgerConfig(kind="postgresql", dsn=await postgresql_cluster.new_database())


async def test_two_daemons_charge_concurrently_without_conflicts(
    shared: LedgerConfig, processor: Processor, http: aiohttp.ClientSession
) -> None:
    processor.delay = 0.02
    first, second = await daemon(shared, processor, http), await daemon(shared, processor, http)
    try:
        requests = [support.charge_request(session_id=f"s-{i % 7}") for i in range(40)]
        outcomes = await asyncio.gather(
            *((first if i % 2 else second).charge(request) for i, request in enumerate(requests))
        )
        assert all(isinstance(o, Approved) for o in outcomes)
        assert sorted(processor.charged) == sorted(r.idempotency_key for r in requests)
        attempts = await first.ledger.attempts(EPOCH, FAR)
        assert len(attempts) == 40
        assert {a.status for a in attempts} == {AttemptStatus.APPROVED}
        owners = {a.owner for a in attempts}
        assert owners == {first.ledger.instance_id, second.ledger.instance_id}
        summary = await second.ledger.summary(EPOCH, FAR)
        assert summary.sessions == 7
        assert summary.approved_minor_by_currency == {"USD": 40 * 12550}
    finally:
        await first.close()
        await second.close()


async def test_recovery_leaves_another_daemons_charge_in_flight_alone(
    shared: LedgerConfig, processor: Processor, http: aiohttp.ClientSession
) -> None:
    processor.delay = 0.5
    busy = await daemon(shared, processor, http)
    starting = await daemon(shared, processor, http)
    try:
        request = support.charge_request()
        charging = asyncio.create_task(busy.charge(request))
        await processor.received.wait()
        report = await starting.recover()
        assert report.examined == 0
        assert isinstance(await charging, Approved)
        record = await starting.ledger.attempt(request.attempt_id)
        assert record is not None
        assert (record.status, record.owner) == (AttemptStatus.APPROVED, busy.ledger.instance_id)
        assert processor.charged == [request.idempotency_key]
    finally:
        await busy.close()
        await starting.close()


async def kill_liveness(ledger: Ledger, dsn: str) -> None:
    """What a SIGKILL does to a daemon's liveness connection."""
    conn = await asyncpg.connect(dsn)
    try:
        pid = ledger._db._liveness.get_server_pid()  # type: ignore[attr-defined]
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()


async def test_two_daemons_recovering_at_once_each_take_a_dead_daemons_attempt_once(
    shared: LedgerConfig, processor: Processor, http: aiohttp.ClientSession
) -> None:
    dead = await open_ledger(shared)
    orphans = []
    for _ in range(12):
        request = support.charge_request()
        await dead.record_pending(NewAttempt.from_request(request, "rest"))
        orphans.append(request)
    # Half of them reached the processor before the crash.
    for request in orphans[::2]:
        processor.answers[request.idempotency_key] = {"charge_id": "ch_x", "error_code": None}
    await kill_liveness(dead, shared.dsn or "")
    first, second = await daemon(shared, processor, http), await daemon(shared, processor, http)
    try:
        one, two = await asyncio.gather(first.recover(), second.recover())
        assert set(one.resolved).isdisjoint(two.resolved)
        assert set(one.resolved) | set(two.resolved) == {r.attempt_id for r in orphans}
        summary = await first.ledger.summary(EPOCH, FAR)
        assert summary.attempts_by_status == {"approved": 6, "failed": 6}
        assert summary.needs_reconciliation == 0
    finally:
        await first.close()
        await second.close()
        await dead.close()
