"""Helpers for the daemon-level charging tests (crash recovery, a shared PostgreSQL ledger).

A daemon here is a real ``paymentd serve`` (:class:`~tests.e2e.daemon.RunningDaemon`)
configured from the end-to-end ``BASE_CONFIG`` with its ``[ledger]`` and
``[gateway]`` sections replaced. The test reads the same ledger the way
``paymentd ledger`` does (``open_ledger(..., read_only=True)``) and asks the
gateway (the sandbox's state file, or the REST test processor) what it charged.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg

from paymentd.gateways import SandboxConfig
from paymentd.gateways.sandbox import SandboxCharge, SandboxGateway
from paymentd.ledger import AttemptRecord, Ledger, LedgerConfig, SessionRecord, open_ledger
from paymentd.testing import Call, Extension, FreeSwitchSimulator, Script
from tests.e2e.conftest import BASE_CONFIG, PAY
from tests.e2e.daemon import RunningDaemon
from tests.e2e.scenarios import GIVEN, confirm_all, pay_given_amount, visa_card
from tests.gateways.processor import SECRET

EPOCH, FAR = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)

#: Recovery calls an attempt the gateway has no record of "not charged" only once it is
#: this old: short here, so a test waits seconds, not a minute.
SETTLE_SECONDS = 3.0

_LEDGER_SECTION = '[ledger]\npath = "$directory/ledger.sqlite3"\n'
_GATEWAY_SECTION = "[gateway.sandbox]\nlatency_seconds = $latency\n"


def toml_value(value: str | float) -> str:
    # JSON's string escapes are TOML's.
    return json.dumps(value)


def _gateway(kind: str, section: dict[str, str | float]) -> str:
    # A charge may hang far longer than any test waits: the test decides when it ends.
    lines = "\n".join(f"{key} = {toml_value(value)}" for key, value in section.items())
    return (
        f'[gateway]\nkind = "{kind}"\ntimeout_seconds = 60\nlookup_attempts = 1\n'
        f"lookup_interval_seconds = 0\nsettle_seconds = {SETTLE_SECONDS}\n\n"
        f"[gateway.{kind}]\n{lines}\n"
    )


def sandbox_gateway(**settings: str | float) -> str:
    """The sandbox, keeping its charges in ``sandbox.sqlite3`` beside the daemon's log."""
    return _gateway("sandbox", {"state_path": "$directory/sandbox.sqlite3", **settings})


def rest_gateway(url: str) -> str:
    """The generic REST connector, signing for the test processor."""
    return _gateway("rest", {"url": url, "signing_secret": SECRET})


def daemon_config(ledger: LedgerConfig | None, gateway: str) -> str:
    """``BASE_CONFIG`` with a ``[gateway]`` and (for PostgreSQL) a ``[ledger]`` of ours.

    ``ledger`` None: the daemon's own SQLite file in its directory.
    """
    # Fail loudly if the shared template changes shape under us.
    assert _LEDGER_SECTION in BASE_CONFIG
    assert _GATEWAY_SECTION in BASE_CONFIG
    text = BASE_CONFIG.replace(_GATEWAY_SECTION, gateway)
    if ledger is None:
        return text
    assert ledger.kind == "postgresql"
    assert ledger.dsn is not None
    section = f'[ledger]\nkind = "postgresql"\ndsn = {toml_value(ledger.dsn)}\n'
    return text.replace(_LEDGER_SECTION, section)


def reader_config(daemon: RunningDaemon, ledger: LedgerConfig | None) -> LedgerConfig:
    """How the test reads the ledger ``daemon`` writes."""
    return ledger or LedgerConfig(kind="sqlite", path=str(daemon.ledger_path))


@asynccontextmanager
async def reading(config: LedgerConfig) -> AsyncIterator[Ledger]:
    """The ledger, opened as ``paymentd ledger`` opens it beside a running daemon."""
    ledger = await open_ledger(config, read_only=True)
    try:
        yield ledger
    finally:
        await ledger.close()


async def all_attempts(config: LedgerConfig) -> list[AttemptRecord]:
    async with reading(config) as ledger:
        return await ledger.attempts(EPOCH, FAR)


async def all_sessions(config: LedgerConfig) -> list[SessionRecord]:
    async with reading(config) as ledger:
        return await ledger.sessions(EPOCH, FAR)


async def instance_of(dsn: str, daemon: RunningDaemon) -> str:
    """The ledger instance id a running daemon registered in a PostgreSQL ledger."""
    assert daemon.process is not None
    conn = await asyncpg.connect(dsn)
    try:
        found = await conn.fetchval(
            "SELECT instance_id FROM ledger_instances WHERE pid = $1", daemon.process.pid
        )
    finally:
        await conn.close()
    assert found is not None, f"no ledger instance for pid {daemon.process.pid}"
    return str(found)


async def wait_until(
    check: Callable[[], Awaitable[bool]], what: str, timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def ledger_pending_cli(daemon: RunningDaemon) -> list[dict[str, Any]]:
    """``paymentd ledger pending --format json`` on the daemon's configuration."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "paymentd",
        "ledger",
        "pending",
        "--config",
        str(daemon.config_path),
        "--format",
        "json",
        cwd=daemon.directory,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode(errors="replace")
    records: list[dict[str, Any]] = json.loads(out)
    return records


async def place_paying_call(
    simulator: FreeSwitchSimulator, daemon: RunningDaemon, extension: Extension | str = PAY
) -> Call:
    """A verified caller who pays the given amount with the Visa test card (on the
    payment line, or through ``extension``)."""
    return await simulator.place_call(
        ("127.0.0.1", daemon.esl_port),
        extension=extension,
        variables=dict(GIVEN),
        caller=Script(pay_given_amount(), confirm_all(), *visa_card()),
    )


def log_messages(daemon: RunningDaemon) -> list[str]:
    """The messages of the daemon's JSON log lines, oldest first."""
    return [
        str(json.loads(line)["msg"])
        for line in daemon.log_text().splitlines()
        if line.startswith("{")
    ]


async def sandbox_charges(daemon: RunningDaemon) -> list[SandboxCharge]:
    state = SandboxConfig(state_path=str(daemon.directory / "sandbox.sqlite3"))
    return await SandboxGateway(state, 1).charges()
