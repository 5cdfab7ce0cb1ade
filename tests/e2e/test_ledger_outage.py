"""The ledger goes away under a running daemon: no card is charged, the caller is told, and
the call goes on to the configured route."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from paymentd.ledger import LedgerConfig
from paymentd.testing import FreeSwitchSimulator
from tests.e2e.charging import daemon_config, place_paying_call, sandbox_charges, sandbox_gateway
from tests.e2e.daemon import Daemons
from tests.ledger.postgres import PostgresCluster

pytestmark = pytest.mark.slow


async def cut_off(cluster: PostgresCluster, dsn: str) -> None:
    """Refuse new connections to the ledger's database and drop the open ones."""
    database = dsn.rsplit("/", 1)[1]
    admin = await asyncpg.connect(cluster.dsn())
    try:
        await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            database,
        )
    finally:
        await admin.close()


async def test_no_payment_is_taken_while_the_ledger_is_down(
    tmp_path: Path,
    daemons: Daemons,
    postgresql_cluster: PostgresCluster,
    simulator: FreeSwitchSimulator,
) -> None:
    dsn = await postgresql_cluster.new_database()
    daemon = daemons.new(
        tmp_path, daemon_config(LedgerConfig(kind="postgresql", dsn=dsn), sandbox_gateway())
    )
    daemon.start()
    await cut_off(postgresql_cluster, dsn)

    call = await place_paying_call(simulator, daemon)
    result = await call.wait_closed(timeout=60)

    assert result.variables.get("paymentd_result") == "internal-error"
    assert result.variables.get("paymentd_error_type") == "ledger_unavailable"
    # The caller was never asked for a card, and the dialplan went on after `socket`.
    heard = " ".join(prompt.file for prompt in result.prompts)
    assert "technical_problem" in heard
    assert "enter_card_number" not in heard
    assert result.variables.get("after_socket") == "reached"
    # Nothing reached the gateway.
    assert await sandbox_charges(daemon) == []
    assert "ledger unavailable, no payment taken" in daemon.log_text()
    daemon.stop()
