"""Issue 4's crash test, at the daemon level, on SQLite and on PostgreSQL.

A real ``paymentd serve`` takes a call from the FreeSWITCH simulator; the caller
keys a card and the charge goes out; the gateway holds its answer back (or never
gets the request) and the process is killed with SIGKILL. The caller's call must
end cleanly on FreeSWITCH's side: the socket closes with the process and the
dialplan goes on after ``socket``. The daemon is started again on the same
ledger: before it takes a call (its ESL port stays closed until then) the
attempt is resolved, the gateway shows exactly one charge (or, when the request
never reached it, none) and ``paymentd ledger pending`` lists nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest

from paymentd.gateways.service import NOT_CHARGED
from paymentd.ledger import AttemptRecord, AttemptStatus, LedgerConfig
from paymentd.payments import Approved
from paymentd.testing import CallResult, FreeSwitchSimulator
from tests.e2e.charging import (
    SETTLE_SECONDS,
    all_attempts,
    all_sessions,
    daemon_config,
    ledger_pending_cli,
    log_messages,
    place_paying_call,
    reader_config,
    rest_gateway,
    sandbox_charges,
    sandbox_gateway,
    wait_until,
)
from tests.e2e.daemon import Daemons, RunningDaemon
from tests.gateways.processor import Processor
from tests.ledger.postgres import PostgresCluster
from tests.ledger.test_recovery import wait_for_sandbox_charge

pytestmark = pytest.mark.slow

#: What a test waits for before it pulls the plug.
InFlight = Callable[[RunningDaemon, LedgerConfig], Awaitable[None]]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def ledger(request: pytest.FixtureRequest) -> LedgerConfig | None:
    """None: the daemon's own SQLite file; else a fresh database on the session's cluster."""
    if request.param == "sqlite":
        return None
    cluster: PostgresCluster = request.getfixturevalue("postgresql_cluster")
    return LedgerConfig(kind="postgresql", dsn=await cluster.new_database())


@attrs.frozen
class Crash:
    """A daemon killed while a call's charge was in flight."""

    daemon: RunningDaemon
    reader: LedgerConfig
    #: The call's one attempt, as the ledger held it after the kill.
    attempt: AttemptRecord
    #: The caller's call, ended.
    call: CallResult
    killed_at: float


async def crash_during_charge(
    daemon: RunningDaemon,
    ledger: LedgerConfig | None,
    simulator: FreeSwitchSimulator,
    in_flight: InFlight,
) -> Crash:
    # Blocking calls go to a thread: the REST processor answers on this event loop.
    await asyncio.to_thread(daemon.start)
    reader = reader_config(daemon, ledger)
    call = await place_paying_call(simulator, daemon)
    await in_flight(daemon, reader)
    daemon.kill()
    killed_at = time.monotonic()

    # FreeSWITCH's side: the socket closed with the process, the dialplan went on after
    # ``socket`` and hung up normally; no channel is left waiting on paymentd.
    result = await call.wait_closed(timeout=15)
    assert [s.closed_by for s in result.sockets] == ["peer"]
    assert result.variables.get("after_socket") == "reached"
    assert result.hangup_cause == "NORMAL_CLEARING"
    assert "paymentd_result" not in result.variables

    (attempt,) = [a for a in await all_attempts(reader) if a.call_uuid == call.uuid]
    assert attempt.status is AttemptStatus.PENDING
    # Anyone looking before the restart sees the attempt in doubt.
    listed = await ledger_pending_cli(daemon)
    assert [(r["attempt_id"], r["status"]) for r in listed] == [(attempt.attempt_id, "pending")]
    return Crash(daemon, reader, attempt, result, killed_at)


async def restart(crash: Crash) -> AttemptRecord:
    """Start the daemon again on the same ledger; the attempt as it is once it is ready.

    The attempt is read the moment ``/healthz`` answers, without waiting: recovery is
    done by then, and done before the ESL port first accepted a connection.
    """
    opened: list[datetime] = []

    async def watch_esl_port() -> None:
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", crash.daemon.esl_port)
            except OSError:
                await asyncio.sleep(0.01)
                continue
            opened.append(datetime.now(UTC))
            writer.close()
            return

    watching = asyncio.create_task(watch_esl_port())
    try:
        spawned = time.monotonic()
        await asyncio.to_thread(crash.daemon.start)
        ready = time.monotonic()
        await asyncio.wait_for(watching, 10)
    finally:
        watching.cancel()
    print(
        f"\n  restarted: recovered and ready {ready - spawned:.2f} s after spawn,"
        f" {ready - crash.killed_at:.2f} s after the SIGKILL"
    )

    (record,) = [a for a in await all_attempts(crash.reader) if a.call_uuid == crash.call.uuid]
    assert record.attempt_id == crash.attempt.attempt_id
    assert record.status is not AttemptStatus.PENDING, "recovery did not resolve the attempt"
    assert record.resolved_at is not None
    assert record.resolved_at <= opened[0], "a call could reach the daemon before recovery"
    assert record.owner != crash.attempt.owner, "the dead daemon's attempt was not taken over"
    assert not record.needs_reconciliation
    assert await ledger_pending_cli(crash.daemon) == []
    assert "recovery finished: 1 examined, 1 resolved, 0 need reconciliation" in log_messages(
        crash.daemon
    )
    # The session is on record once; the caller's call ended with the dead daemon.
    sessions = [s for s in await all_sessions(crash.reader) if s.call_uuid == crash.call.uuid]
    assert [s.attempts for s in sessions] == [1]
    return record


async def test_killed_after_the_sandbox_charged_before_its_answer(
    ledger: LedgerConfig | None,
    tmp_path: Path,
    simulator: FreeSwitchSimulator,
    daemons: Daemons,
) -> None:
    async def charged(daemon: RunningDaemon, _: LedgerConfig) -> None:
        await wait_for_sandbox_charge(str(daemon.directory / "sandbox.sqlite3"))

    # The sandbox records the charge at once, then takes 30 s to answer.
    daemon = daemons.new(tmp_path, daemon_config(ledger, sandbox_gateway(latency_seconds=30)))
    crash = await crash_during_charge(daemon, ledger, simulator, charged)
    record = await restart(crash)

    (charge,) = await sandbox_charges(daemon)
    assert charge.idempotency_key == crash.attempt.idempotency_key
    assert isinstance(charge.outcome, Approved)
    assert record.status is AttemptStatus.APPROVED
    assert record.confirmation_code == charge.outcome.confirmation_code
    await asyncio.to_thread(daemon.stop)


async def test_killed_after_the_rest_endpoint_charged_before_its_answer(
    ledger: LedgerConfig | None,
    tmp_path: Path,
    simulator: FreeSwitchSimulator,
    daemons: Daemons,
    processor: Processor,
) -> None:
    processor.delay = 60  # charged and recorded at once; the answer never leaves

    async def received(_: RunningDaemon, __: LedgerConfig) -> None:
        await asyncio.wait_for(processor.received.wait(), 30)

    daemon = daemons.new(tmp_path, daemon_config(ledger, rest_gateway(processor.url)))
    crash = await crash_during_charge(daemon, ledger, simulator, received)
    key = crash.attempt.idempotency_key
    assert processor.charged == [key]
    record = await restart(crash)

    assert record.status is AttemptStatus.APPROVED
    assert record.confirmation_code == processor.answers[key]["charge_id"]
    assert processor.charged == [key]  # looked up, never charged again
    await asyncio.to_thread(daemon.stop)


async def test_killed_before_the_gateway_received_the_request(
    ledger: LedgerConfig | None,
    tmp_path: Path,
    simulator: FreeSwitchSimulator,
    daemons: Daemons,
) -> None:
    async def sent(_: RunningDaemon, reader: LedgerConfig) -> None:
        async def pending() -> bool:
            return any(a.status is AttemptStatus.PENDING for a in await all_attempts(reader))

        await wait_until(pending, "the attempt to be recorded as pending")

    # fault = timeout: the request is lost on its way; the sandbox never hears of it.
    daemon = daemons.new(tmp_path, daemon_config(ledger, sandbox_gateway(fault="timeout")))
    crash = await crash_during_charge(daemon, ledger, simulator, sent)
    record = await restart(crash)

    assert await sandbox_charges(daemon) == []
    assert (record.status, record.detail) == (AttemptStatus.FAILED, NOT_CHARGED)
    # "No record" means "not charged" only once the request cannot still be on its way.
    assert record.resolved_at is not None
    assert (record.resolved_at - record.created_at).total_seconds() >= SETTLE_SECONDS
    await asyncio.to_thread(daemon.stop)
