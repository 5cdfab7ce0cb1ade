"""Ledger fixtures: every ledger test runs on SQLite and on a real PostgreSQL server
(``postgresql_cluster``, shared by the whole session, is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from paymentd.ledger import Ledger, LedgerConfig, open_ledger
from tests.ledger.postgres import PostgresCluster


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def ledger_config(request: pytest.FixtureRequest, tmp_path: Path) -> LedgerConfig:
    """A fresh, empty ledger of each kind."""
    if request.param == "sqlite":
        return LedgerConfig(kind="sqlite", path=str(tmp_path / "ledger.sqlite3"))
    cluster: PostgresCluster = request.getfixturevalue("postgresql_cluster")
    return LedgerConfig(kind="postgresql", dsn=await cluster.new_database())


@pytest.fixture
async def ledger(ledger_config: LedgerConfig) -> AsyncIterator[Ledger]:
    opened = await open_ledger(ledger_config)
    yield opened
    await opened.close()
