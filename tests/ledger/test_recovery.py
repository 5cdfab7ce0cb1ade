"""Crash recovery at the service level, on SQLite and PostgreSQL.

A real process (tests/ledger/crashing_daemon.py) opens the charging service as
the daemon does and starts a charge; the gateway holds its answer back; the
process is killed with SIGKILL. A new service on the same ledger then recovers
before taking calls: the gateway shows exactly one charge and the ledger the
resolved outcome. The daemon-level test will start ``paymentd serve`` instead
of the stand-in; everything after the kill stays the same.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg

from paymentd.gateways import ChargingService, GatewayConfig, RestConfig, SandboxConfig
from paymentd.gateways.rest import RestGateway
from paymentd.gateways.sandbox import SandboxGateway
from paymentd.gateways.service import NOT_CHARGED
from paymentd.ledger import AttemptStatus, LedgerConfig, open_ledger
from paymentd.payments import Approved
from tests.gateways.processor import SECRET, Processor

REPO = Path(__file__).resolve().parents[2]


async def run_until_killed(
    settings: dict[str, str], ledger: LedgerConfig, in_flight: asyncio.Event | None = None
) -> str:
    """Start the stand-in daemon, wait for its charge to be in flight, SIGKILL it."""
    settings["ledger"] = json.dumps({"kind": ledger.kind, "path": ledger.path, "dsn": ledger.dsn})
    daemon = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.ledger.crashing_daemon",
        json.dumps(settings),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert daemon.stdout is not None
        line = await asyncio.wait_for(daemon.stdout.readline(), 30)
        attempt_id: str = json.loads(line)["attempt_id"]
        if in_flight is not None:
            await asyncio.wait_for(in_flight.wait(), 30)
        else:
            await wait_for_sandbox_charge(settings["state_path"])
    finally:
        daemon.kill()
        await daemon.wait()
    await wait_until_gone(ledger)
    return attempt_id


async def wait_for_sandbox_charge(state_path: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if Path(state_path).exists():  # noqa: ASYNC240
            with sqlite3.connect(state_path) as db:
                tables = db.execute("SELECT name FROM sqlite_master").fetchall()
                if tables and db.execute("SELECT count(*) FROM sandbox_charges").fetchone()[0]:
                    return
        await asyncio.sleep(0.05)
    raise AssertionError("the sandbox never recorded the charge")


async def wait_until_gone(ledger: LedgerConfig) -> None:
    """PostgreSQL notices the dead client's connection a moment after the kill."""
    if ledger.kind != "postgresql":
        return
    conn = await asyncpg.connect(ledger.dsn)
    try:
        for _ in range(100):
            others = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if others == 0:
                return
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    raise AssertionError("the killed daemon's connections did not go away")


def fast(settle: float = 0.0) -> GatewayConfig:
    return GatewayConfig(
        timeout_seconds=2, lookup_attempts=1, lookup_interval_seconds=0, settle_seconds=settle
    )


async def test_killed_while_the_gateway_holds_the_answer(
    ledger_config: LedgerConfig, processor: Processor, http: aiohttp.ClientSession
) -> None:
    processor.delay = 60  # the charge is made, the answer never leaves
    key = f"pd-{uuid.uuid4().hex}"
    attempt_id = await run_until_killed(
        {"gateway": "rest", "url": processor.url, "key": key}, ledger_config, processor.received
    )
    assert processor.charged == [key]

    ledger = await open_ledger(ledger_config)
    gateway = RestGateway(RestConfig(url=processor.url, signing_secret=SECRET), http, 2)
    service = ChargingService(ledger, gateway, fast())
    try:
        before = await ledger.attempt(attempt_id)
        assert before is not None
        assert before.status is AttemptStatus.PENDING
        report = await service.recover()
        assert report.resolved == {attempt_id: "approved"}
        assert report.unresolved == []
        record = await ledger.attempt(attempt_id)
        assert record is not None
        assert record.status is AttemptStatus.APPROVED
        assert record.confirmation_code == processor.answers[key]["charge_id"]
        assert record.owner == ledger.instance_id
        # Recovered once, resolved for good: a second start finds nothing to do.
        assert (await service.recover()).examined == 0
    finally:
        await service.close()
    assert processor.charged == [key]  # exactly one charge, never repeated


async def test_killed_before_the_request_reached_the_gateway(
    ledger_config: LedgerConfig, processor: Processor, http: aiohttp.ClientSession
) -> None:
    # A black hole stands for the network: it swallows the request, the processor never sees it.
    swallowed = asyncio.Event()

    async def black_hole(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        swallowed.set()
        await reader.read()
        writer.close()

    hole = await asyncio.start_server(black_hole, "127.0.0.1", 0)
    port = hole.sockets[0].getsockname()[1]
    try:
        attempt_id = await run_until_killed(
            {"gateway": "rest", "url": f"http://127.0.0.1:{port}/pay", "key": "pd-lost"},
            ledger_config,
            swallowed,
        )
    finally:
        hole.close()

    ledger = await open_ledger(ledger_config)
    gateway = RestGateway(RestConfig(url=processor.url, signing_secret=SECRET), http, 2)
    # The attempt is seconds old: recovery waits out the settle time before "not charged".
    service = ChargingService(ledger, gateway, fast(settle=1.5))
    try:
        started = time.monotonic()
        report = await service.recover()
        assert report.resolved == {attempt_id: "failed"}
        record = await ledger.attempt(attempt_id)
        assert record is not None
        assert record.created_at.timestamp() + 1.5 <= time.time()
        assert time.monotonic() - started < 5
        assert (record.status, record.detail, record.needs_reconciliation) == (
            AttemptStatus.FAILED,
            NOT_CHARGED,
            False,
        )
    finally:
        await service.close()
    assert processor.charged == []


async def test_killed_during_a_slow_sandbox_answer(
    ledger_config: LedgerConfig, tmp_path: Path
) -> None:
    state = str(tmp_path / "sandbox.sqlite3")
    attempt_id = await run_until_killed(
        {"gateway": "sandbox", "state_path": state, "key": "pd-sandbox"}, ledger_config
    )
    ledger = await open_ledger(ledger_config)
    sandbox = SandboxGateway(SandboxConfig(latency_seconds=0, state_path=state), 2)
    service = ChargingService(ledger, sandbox, fast())
    try:
        report = await service.recover()
        assert report.resolved == {attempt_id: "approved"}
        (charge,) = await sandbox.charges()
        assert charge.idempotency_key == "pd-sandbox"
        record = await ledger.attempt(attempt_id)
        assert record is not None
        assert record.outcome() == charge.outcome
        assert isinstance(charge.outcome, Approved)
    finally:
        await service.close()


async def test_an_attempt_whose_gateway_cannot_be_asked_stays_flagged(
    ledger_config: LedgerConfig, processor: Processor, http: aiohttp.ClientSession
) -> None:
    processor.delay = 60
    attempt_id = await run_until_killed(
        {"gateway": "rest", "url": processor.url, "key": "pd-flag"},
        ledger_config,
        processor.received,
    )
    ledger = await open_ledger(ledger_config)
    unreachable = RestGateway(RestConfig(url="http://127.0.0.1:9/pay"), http, 1)
    service = ChargingService(ledger, unreachable, fast())
    try:
        report = await service.recover()
        assert report.unresolved == [attempt_id]
        (flagged,) = await ledger.unresolved()
        assert (flagged.status, flagged.needs_reconciliation) == (AttemptStatus.UNKNOWN, True)
    finally:
        await service.close()
    # The next start, with the gateway back, resolves it.
    ledger = await open_ledger(ledger_config)
    gateway = RestGateway(RestConfig(url=processor.url, signing_secret=SECRET), http, 2)
    service = ChargingService(ledger, gateway, fast())
    try:
        assert (await service.recover()).resolved == {attempt_id: "approved"}
        assert await ledger.unresolved() == []
    finally:
        await service.close()
