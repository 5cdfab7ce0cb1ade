"""What differs between the backends: SQLite's file lock, PostgreSQL's live instances."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from paymentd.ledger import LedgerConfig, LedgerError, NewAttempt, open_ledger
from tests.gateways.support import charge_request
from tests.ledger.postgres import PostgresCluster


async def test_sqlite_file_is_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ledger = await open_ledger(LedgerConfig(path=str(path)))
    try:
        assert (await ledger._db.fetch("PRAGMA journal_mode"))[0]["journal_mode"] == "wal"
        # synchronous=FULL is 2.
        assert (await ledger._db.fetch("PRAGMA synchronous"))[0]["synchronous"] == 2
        await ledger.record_pending(NewAttempt.from_request(charge_request(), "sandbox"))
        # Another reader sees the committed row at once: it is in the file, not in our memory.
        with sqlite3.connect(path) as other:
            assert other.execute("SELECT count(*) FROM ledger_attempts").fetchone() == (1,)
    finally:
        await ledger.close()


async def test_sqlite_ledger_cannot_be_shared_by_two_daemons(tmp_path: Path) -> None:
    config = LedgerConfig(path=str(tmp_path / "ledger.sqlite3"))
    first = await open_ledger(config)
    try:
        with pytest.raises(LedgerError, match="in use by another paymentd"):
            await open_ledger(config)
    finally:
        await first.close()
    # Released on close (and by the kernel when a process dies).
    second = await open_ledger(config)
    await second.close()


async def test_sqlite_path_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(LedgerError, match="cannot open the SQLite ledger"):
        await open_ledger(LedgerConfig(path=str(blocker / "ledger.sqlite3")))


@pytest.mark.postgres
async def test_postgresql_unreachable_is_a_clear_error_without_the_password() -> None:
    config = LedgerConfig(
        kind="postgresql", dsn="postgresql://u:s3cret@127.0.0.1:1/db", connect_timeout=2
    )
    with pytest.raises(LedgerError, match="cannot connect to the PostgreSQL ledger") as info:
        await open_ledger(config)
    assert "s3cret" not in str(info.value)
    assert "s3cret" not in repr(config)


@pytest.mark.postgres
async def test_postgresql_leaves_a_live_instance_alone_and_takes_over_a_dead_one(
    postgresql_cluster: PostgresCluster,
) -> None:
    config = LedgerConfig(kind="postgresql", dsn=await postgresql_cluster.new_database())
    alive = await open_ledger(config)
    doomed = await open_ledger(config)
    recovering = await open_ledger(config)
    try:
        in_flight = NewAttempt.from_request(charge_request(), "sandbox")
        await alive.record_pending(in_flight)
        orphan = NewAttempt.from_request(charge_request(), "sandbox")
        await doomed.record_pending(orphan)
        # A crash, not a clean close: the server kills the instance's liveness connection.
        admin = await asyncpg.connect(config.dsn)
        try:
            pid = doomed._db._liveness.get_server_pid()  # type: ignore[attr-defined]
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()

        taken = await recovering.take_over_orphans()
        assert [r.attempt_id for r in taken] == [orphan.attempt_id]
        assert taken[0].owner == recovering.instance_id
        in_flight_record = await recovering.attempt(in_flight.attempt_id)
        assert in_flight_record is not None
        assert in_flight_record.owner == alive.instance_id
        # The dead instance is forgotten; the live ones remain.
        rows = await recovering._db.fetch("SELECT instance_id FROM ledger_instances")
        assert {r["instance_id"] for r in rows} == {alive.instance_id, recovering.instance_id}
    finally:
        await alive.close()
        await recovering.close()
        await doomed.close()


@pytest.mark.postgres
async def test_two_daemons_migrating_at_once_apply_each_migration_once(
    postgresql_cluster: PostgresCluster,
) -> None:
    config = LedgerConfig(kind="postgresql", dsn=await postgresql_cluster.new_database())
    ledgers = await asyncio.gather(*(open_ledger(config) for _ in range(4)))
    try:
        rows = await ledgers[0]._db.fetch("SELECT version FROM ledger_schema")
        assert [r["version"] for r in rows] == [1]
    finally:
        for ledger in ledgers:
            await ledger.close()
