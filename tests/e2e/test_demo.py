"""``paymentd demo`` narrates a real call against a running daemon."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.daemon import RunningDaemon

pytestmark = pytest.mark.slow


def demo(daemon: RunningDaemon, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "paymentd",
            "demo",
            "--esl",
            f"127.0.0.1:{daemon.esl_port}",
            "--time-scale",
            "0.05",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo_narrates_a_successful_payment(daemon: RunningDaemon) -> None:
    run = demo(daemon)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "caller hears: Welcome to our secure automated payment service." in out
    assert "caller keys:  4242424242424242#" in out
    assert "[a read-back of what you keyed, played from a private one-time file]" in out
    assert "paymentd_result = success" in out
    assert "paymentd_card_last4 = 4242" in out
    assert "the card number appears in them 0 times" in out


def test_demo_reports_a_decline_with_a_non_zero_exit(daemon: RunningDaemon) -> None:
    run = demo(daemon, "--card", "4000000000000002")
    assert run.returncode == 3
    assert "paymentd_result = declined" in run.stdout
    assert "paymentd_error_type = generic" in run.stdout
