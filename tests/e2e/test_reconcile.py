"""A running daemon settles, without a restart, what a dead peer left pending in a shared
ledger (``[gateway] reconcile_interval_seconds``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from paymentd.gateways.service import NOT_CHARGED
from paymentd.ledger import AttemptStatus, LedgerConfig, NewAttempt, open_ledger
from tests.e2e.charging import (
    SETTLE_SECONDS,
    all_attempts,
    daemon_config,
    sandbox_gateway,
    wait_until,
)
from tests.e2e.daemon import Daemons
from tests.ledger.postgres import PostgresCluster

pytestmark = pytest.mark.slow


async def test_a_running_daemon_resolves_what_a_dead_peer_left_pending(
    tmp_path: Path, daemons: Daemons, postgresql_cluster: PostgresCluster
) -> None:
    dsn = await postgresql_cluster.new_database()
    ledger = LedgerConfig(kind="postgresql", dsn=dsn)
    gateway = sandbox_gateway().replace(
        "settle_seconds", "reconcile_interval_seconds = 0.5\nsettle_seconds", 1
    )
    daemon = daemons.new(tmp_path / "live", daemon_config(ledger, gateway))
    daemon.start()

    # Another daemon records an attempt, then dies before its request leaves.
    peer = await open_ledger(ledger)
    await peer.begin_session("s-dead", "call-dead", "automated", None, None)
    await peer.record_pending(
        NewAttempt(
            attempt_id="s-dead-1",
            idempotency_key="paymentd-s-dead-1",
            session_id="s-dead",
            call_uuid="call-dead",
            amount_minor=1250,
            currency="USD",
            brand="visa",
            last4="4242",
            account_id=None,
            reference=None,
            mode="automated",
            gateway="sandbox",
        )
    )
    await peer.close()

    async def settled() -> bool:
        attempts = [a for a in await all_attempts(ledger) if a.attempt_id == "s-dead-1"]
        return bool(attempts) and attempts[0].status is not AttemptStatus.PENDING

    await wait_until(
        settled, "the live daemon to settle the dead peer's attempt", SETTLE_SECONDS + 15
    )
    (attempt,) = [a for a in await all_attempts(ledger) if a.attempt_id == "s-dead-1"]
    # The sandbox never saw it: nothing was charged, and that is what the ledger says.
    assert attempt.status is AttemptStatus.FAILED
    assert attempt.detail == NOT_CHARGED
    assert not attempt.needs_reconciliation
    assert any(
        "recovery finished: 1 examined, 1 resolved" in line
        for line in daemon.log_text().splitlines()
    )
    daemon.stop()
