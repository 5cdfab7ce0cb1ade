"""No card data anywhere: a full run through every gateway, then a scan for the test cards.

Every test PAN is charged through the sandbox, the REST connector (including
timeouts, server errors, garbled answers and an endpoint whose error text
quotes the card) and Stripe (localstripe); a gateway that raises with the card
in its message, recovery and the reporting queries run too. Then the ledger's
files (SQLite, its WAL, the sandbox's state file) or the PostgreSQL cluster's
data directory and tables, every captured log record and every outcome and
exception text are searched for the PANs, security codes and expiry: zero hits.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from paymentd.cards import CardDataError, CardNumber, SecurityCode
from paymentd.gateways import (
    ChargingService,
    Gateway,
    GatewayConfig,
    RestConfig,
    SandboxConfig,
    StripeConfig,
)
from paymentd.gateways.rest import RestGateway
from paymentd.gateways.sandbox import SandboxGateway
from paymentd.gateways.stripe import StripeGateway
from paymentd.ledger import LedgerConfig, open_ledger
from paymentd.payments import ChargeOutcome, ChargeRequest
from tests.gateways import support
from tests.gateways.processor import ERRORS, SECRET, Processor
from tests.gateways.stripe_proxy import StripeProxy
from tests.ledger.postgres import PostgresCluster

FAST = GatewayConfig(timeout_seconds=0.3, lookup_attempts=1, settle_seconds=0)
PANS = sorted({*support.ALL_PANS, *ERRORS, "4000000000000341"})
SECRETS = [support.CVV, support.AMEX_CID, "2034"]  # security codes and expiry year
EPOCH, FAR = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


class LeakyGateway:
    """A buggy gateway whose exceptions quote the card."""

    name = "leaky"

    async def charge(self, request: ChargeRequest) -> ChargeOutcome:
        raise ValueError(f"bad card {request.card.number.reveal()} cvv {request.card.cvv!r}")

    async def lookup(self, idempotency_key: str) -> ChargeOutcome | None:
        return None

    async def close(self) -> None:
        pass


def hits(text: str) -> list[str]:
    """Every PAN found in ``text``, and every security code or expiry standing alone."""
    found = [pan for pan in PANS if pan in text]
    # Standing alone: not part of a longer token or a decimal number (timings, timestamps).
    found += [s for s in SECRETS if re.search(rf"(?<![0-9A-Za-z.]){s}(?![0-9A-Za-z.])", text)]
    return found


def file_hits(root: Path) -> list[str]:
    """PANs in the raw bytes of every file under ``root`` (codes are too short to scan raw)."""
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {pan}" for pan in PANS if pan.encode() in data]
    return found


async def full_run(
    ledger_config: LedgerConfig,
    tmp_path: Path,
    processor: Processor,
    stripe_proxy: StripeProxy,
    http: aiohttp.ClientSession,
) -> list[str]:
    """Charge every test card every way; return every text an outcome or error produced."""
    texts: list[str] = []
    ledger = await open_ledger(ledger_config)
    sandbox = SandboxGateway(
        SandboxConfig(latency_seconds=0, state_path=str(tmp_path / "sandbox.sqlite3")), 0.3
    )
    rest = RestGateway(RestConfig(url=processor.url, signing_secret=SECRET), http, 0.3)
    stripe = StripeGateway(StripeConfig(api_key="sk_test_x", api_base=stripe_proxy.url), http, 5)
    gateways: list[Gateway] = [sandbox, rest, stripe, LeakyGateway()]
    for gateway in gateways:
        service = ChargingService(ledger, gateway, FAST)
        for pan in PANS:
            outcome = await service.charge(support.charge_request(pan))
            texts += [repr(outcome), str(outcome)]
    # The REST endpoint misbehaving in every way it can.
    service = ChargingService(ledger, rest, FAST)
    for knob, value in [("delay", 1.0), ("status", 500), ("garble", True), ("refuse_status", 503)]:
        setattr(processor, knob, value)
        for pan in (support.SUCCESS, support.GENERIC_DECLINE):
            texts.append(repr(await service.charge(support.charge_request(pan))))
        setattr(processor, knob, type(value)())
    wrong_secret = RestGateway(RestConfig(url=processor.url, signing_secret="wrong"), http, 0.3)
    texts.append(repr(await wrong_secret.charge(support.charge_request())))
    # Card data rejected at the door says what is wrong, never what was keyed.
    for bad in ("4111111111111112", "42424242424242424242", "42x4"):
        with pytest.raises(CardDataError) as info:
            CardNumber(bad)
        texts += [str(info.value), repr(info.value)]
    with pytest.raises(CardDataError) as code_info:
        SecurityCode("73737")
    texts.append(str(code_info.value))
    # Recovery and reporting.
    recovery = await ChargingService(ledger, rest, FAST).recover()
    texts.append(repr(recovery))
    texts.append(repr(await ledger.sessions(EPOCH, FAR)))
    texts.append(repr(await ledger.summary(EPOCH, FAR)))
    texts.append(repr(await ledger.attempts(EPOCH, FAR)))
    texts.append(repr(await ledger.unresolved()))
    await ledger.close()
    return texts


async def table_dump(ledger_config: LedgerConfig) -> str:
    if ledger_config.kind == "sqlite":
        import sqlite3

        with sqlite3.connect(ledger_config.path) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            return repr([db.execute(f'SELECT * FROM "{t}"').fetchall() for t in tables])
    conn = await asyncpg.connect(ledger_config.dsn)
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        rows = [await conn.fetch(f'SELECT * FROM "{t["tablename"]}"') for t in tables]
        return repr([[dict(r) for r in table] for table in rows])
    finally:
        await conn.close()


async def test_no_card_data_in_ledger_logs_or_errors(
    ledger_config: LedgerConfig,
    tmp_path: Path,
    processor: Processor,
    stripe_proxy: StripeProxy,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    caplog.set_level(logging.DEBUG)
    texts = await full_run(ledger_config, tmp_path, processor, stripe_proxy, http)

    dump = await table_dump(ledger_config)
    assert "approved" in dump
    assert "declined" in dump  # the scan below looked at real rows
    assert hits(dump) == []
    if ledger_config.kind == "sqlite":
        assert file_hits(tmp_path) == []  # ledger, its WAL and shm, the sandbox's state
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgresql_cluster")
        assert file_hits(cluster.data) == []  # tables, indexes and the write-ahead log
    assert (tmp_path / "sandbox.sqlite3").exists()

    records = caplog.records
    assert records, "the run logged nothing: the scan would prove nothing"
    log_text = "\n".join(f"{r.getMessage()} {r.__dict__!r} {r.exc_text}" for r in records)
    assert hits(log_text) == []
    assert hits("\n".join(texts)) == []
