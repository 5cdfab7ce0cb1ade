"""Two ``paymentd serve`` processes on one PostgreSQL ledger, calls on both at once.

The REST test processor holds every charge until the test lets go, so the
concurrency is not left to chance: all the calls are in the charging step
together, every attempt pending in the shared ledger at the same moment. The
second daemon starts (and runs its recovery) while the first one's charges are
in flight: it must take none of them over. Once the charges are let through,
every call succeeded, and every session and attempt is on record exactly once,
owned by the daemon that took the call, charged once at the processor.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from paymentd.ledger import AttemptStatus, LedgerConfig
from paymentd.testing import Call, FreeSwitchSimulator
from tests.e2e.charging import (
    all_attempts,
    all_sessions,
    daemon_config,
    instance_of,
    ledger_pending_cli,
    log_messages,
    place_paying_call,
    rest_gateway,
    wait_until,
)
from tests.e2e.daemon import Daemons, RunningDaemon
from tests.gateways.processor import Processor
from tests.ledger.postgres import PostgresCluster

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

#: Calls on each daemon, all at once.
CALLS = 4


async def test_two_daemons_on_one_postgresql_ledger_take_calls_at_once(
    postgresql_cluster: PostgresCluster,
    tmp_path: Path,
    simulator: FreeSwitchSimulator,
    daemons: Daemons,
    processor: Processor,
) -> None:
    dsn = await postgresql_cluster.new_database()
    shared = LedgerConfig(kind="postgresql", dsn=dsn)
    release = asyncio.Event()

    async def hold(_: dict[str, Any]) -> None:
        await release.wait()

    processor.on_charge = hold
    config = daemon_config(shared, rest_gateway(processor.url))
    first = daemons.new(tmp_path / "first", config)
    second = daemons.new(tmp_path / "second", config)

    async def in_flight(count: int) -> None:
        async def arrived() -> bool:
            return len(processor.requests) == count

        await wait_until(arrived, f"{count} charges to reach the processor")

    async def calls_on(daemon: RunningDaemon) -> list[Call]:
        return list(
            await asyncio.gather(*(place_paying_call(simulator, daemon) for _ in range(CALLS)))
        )

    # Threads for whatever blocks: the processor answers on this event loop.
    await asyncio.to_thread(first.start)
    first_id = await instance_of(dsn, first)
    first_calls = await calls_on(first)
    await in_flight(CALLS)
    # The second daemon starts, and runs its recovery, while the first one's charges are
    # in flight: they are a live daemon's, not orphans.
    await asyncio.to_thread(second.start)
    second_id = await instance_of(dsn, second)
    untouched = await all_attempts(shared)
    assert len(untouched) == CALLS
    assert {(a.owner, a.status) for a in untouched} == {(first_id, AttemptStatus.PENDING)}
    assert "recovery finished: 0 examined, 0 resolved, 0 need reconciliation" in log_messages(
        second
    )
    second_calls = await calls_on(second)
    await in_flight(2 * CALLS)

    owners = {c.uuid: first_id for c in first_calls} | {c.uuid: second_id for c in second_calls}
    pending = await all_attempts(shared)
    assert {a.call_uuid: (a.owner, a.status) for a in pending} == {
        uuid: (owner, AttemptStatus.PENDING) for uuid, owner in owners.items()
    }
    assert len(await ledger_pending_cli(first)) == 2 * CALLS

    release.set()
    calls = first_calls + second_calls
    results = await asyncio.gather(*(call.wait_closed(timeout=30) for call in calls))
    for result in results:
        assert result.variables.get("paymentd_result") == "success", result.uuid
        assert result.variables.get("after_socket") == "reached"

    attempts = await all_attempts(shared)
    # Every attempt once, by the daemon that took its call, approved, charged once.
    assert sorted(a.call_uuid for a in attempts) == sorted(owners)
    assert {a.call_uuid: a.owner for a in attempts} == owners
    assert {a.status for a in attempts} == {AttemptStatus.APPROVED}
    assert not any(a.needs_reconciliation for a in attempts)
    assert Counter(processor.charged) == Counter(a.idempotency_key for a in attempts)
    for attempt in attempts:
        charge_id = processor.answers[attempt.idempotency_key]["charge_id"]
        assert attempt.confirmation_code == charge_id
    # Every session once, ended with the result the caller's channel got.
    sessions = await all_sessions(shared)
    assert sorted(s.call_uuid for s in sessions) == sorted(owners)
    assert {(s.result, s.attempts) for s in sessions} == {("success", 1)}
    assert await ledger_pending_cli(second) == []

    await asyncio.gather(asyncio.to_thread(first.stop), asyncio.to_thread(second.stop))
