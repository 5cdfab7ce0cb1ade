"""``paymentd ledger pending``, beside a running daemon, on both backends."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from paymentd.cli import main
from paymentd.ledger import Ledger, LedgerConfig, NewAttempt, open_ledger
from paymentd.payments import Approved, Unknown
from tests.gateways import support

REPO = Path(__file__).resolve().parents[2]


def write_config(path: Path, ledger: LedgerConfig) -> str:
    if ledger.kind == "sqlite":
        text = f'[ledger]\nkind = "sqlite"\npath = "{ledger.path}"\n'
    else:
        text = f'[ledger]\nkind = "postgresql"\ndsn = "{ledger.dsn}"\n'
    path.write_text(text)
    return str(path)


async def daemon_with_attempts(config: LedgerConfig) -> tuple[Ledger, list[str]]:
    """A 'running daemon' (ledger open and locked): attempts pending, unknown and approved."""
    ledger = await open_ledger(config)
    ids = []
    for outcome in (None, Unknown("no reply within 20 s"), Approved("OK")):
        request = support.charge_request(support.AMEX, minor=1999, currency="EUR")
        await ledger.record_pending(NewAttempt.from_request(request, "rest"))
        if outcome is not None:
            await ledger.record_outcome(request.attempt_id, outcome)
        ids.append(request.attempt_id)
    return ledger, ids


async def run_cli(*args: str) -> int:
    # In a thread: the command runs its own event loop, as it does from a shell.
    return await asyncio.to_thread(main, list(args))


async def test_lists_pending_and_flagged_attempts_while_the_daemon_runs(
    ledger_config: LedgerConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "paymentd.toml", ledger_config)
    ledger, (pending, unknown, approved) = await daemon_with_attempts(ledger_config)
    try:
        assert await run_cli("ledger", "pending", "--config", config) == 0
        table = capsys.readouterr().out
        lines = table.splitlines()
        assert lines[0].split() == [
            "created",
            "attempt",
            "status",
            "gateway",
            "amount",
            "card",
            "account",
            "reference",
        ]
        assert pending in lines[1]
        assert "pending" in lines[1]
        assert unknown in lines[2]
        assert "unknown (reconcile)" in lines[2]
        assert "19.99 EUR" in lines[1]
        assert "amex ****0005" in lines[1]
        assert approved not in table
        assert support.AMEX not in table

        assert await run_cli("ledger", "pending", "--config", config, "--format", "json") == 0
        rows = json.loads(capsys.readouterr().out)
        assert [r["attempt_id"] for r in rows] == [pending, unknown]
        assert rows[1]["detail"] == "no reply within 20 s"
        assert rows[1]["needs_reconciliation"] is True
    finally:
        await ledger.close()


async def test_nothing_to_do(
    ledger_config: LedgerConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "paymentd.toml", ledger_config)
    await (await open_ledger(ledger_config)).close()
    assert await run_cli("ledger", "pending", "--config", config) == 0
    assert capsys.readouterr().out == "No pending or unreconciled attempts.\n"


async def test_a_missing_ledger_is_an_error_not_a_new_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = LedgerConfig(path=str(tmp_path / "nowhere.sqlite3"))
    config = write_config(tmp_path / "paymentd.toml", missing)
    assert await run_cli("ledger", "pending", "--config", config) == 2
    assert "there is no SQLite ledger at" in capsys.readouterr().err
    assert not await asyncio.to_thread(Path(missing.path).exists)


async def test_the_installed_command_line(tmp_path: Path) -> None:
    ledger = LedgerConfig(path=str(tmp_path / "ledger.sqlite3"))
    await (await open_ledger(ledger)).close()
    config = write_config(tmp_path / "paymentd.toml", ledger)
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "paymentd", "ledger", "pending", "--config", config],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, "No pending or unreconciled attempts.\n")
