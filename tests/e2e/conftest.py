"""Fixtures for end-to-end tests: real daemons, the FreeSWITCH simulator, leak evidence."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from paymentd.testing import Action, Dialplan, Extension, FreeSwitchSimulator
from tests.e2e.daemon import Daemons, RunningDaemon

#: Short timers so that silence and slow keying are tested in seconds, not minutes.
BASE_CONFIG = """
[esl]
listen = "127.0.0.1:$esl_port"
linger_seconds = 2
command_timeout = 5.0
shutdown_grace_seconds = 5.0

[http]
listen = "127.0.0.1:$http_port"

[logging]
level = "debug"
format = "json"

[ledger]
path = "$directory/ledger.sqlite3"

[gateway.sandbox]
latency_seconds = $latency

[reporting]
tokens = ["e2e-report-token-0123456789abcdef"]

[capture]
hold_after_seconds = 0.4
card_fields_by_brand = { amex = ["expiry", "cvv", "postal_code"] }

[capture.amount]
first_digit_timeout = 1.5
inter_digit_timeout = 0.8

[capture.card_number]
first_digit_timeout = 1.0
inter_digit_timeout = 0.8

[capture.expiry]
first_digit_timeout = 1.5
inter_digit_timeout = 0.8

[capture.cvv]
first_digit_timeout = 1.5
inter_digit_timeout = 0.8

[capture.postal_code]
first_digit_timeout = 1.5
inter_digit_timeout = 0.8

[capture.routes.automated]
declined = { action = "transfer", extension = "payments_queue" }
too_many_failed_attempts = { action = "transfer", extension = "payments_queue" }
caller_cancelled = { action = "transfer", extension = "payments_queue" }
identification_failed = { action = "transfer", extension = "payments_queue" }
payment_connector_error = { action = "transfer", extension = "payments_queue" }
unknown_outcome = { action = "transfer", extension = "payments_queue" }
"""

#: The simulated dialplan: the payment line, the queue every failure goes to, identification.
PAY = "7300"


def dialplan() -> Dialplan:
    return (
        Dialplan()
        .add(
            Extension(
                "pay",
                PAY,
                [
                    # As the shipped dialplan does (freeswitch-conf/dialplan/paymentd.xml).
                    Action("set", "sensitive_dtmf=true"),
                    Action.socket(),
                    Action("unset", "sensitive_dtmf"),
                    Action("set", "after_socket=reached"),
                    Action("hangup", "NORMAL_CLEARING"),
                ],
            )
        )
        .add(
            Extension(
                "queue",
                "payments_queue",
                [Action("set", "queue_reached=yes"), Action("hangup", "NORMAL_CLEARING")],
            )
        )
        .add(
            Extension(
                "identify",
                "paymentd_identify",
                [Action("set", "identify_reached=yes"), Action("hangup", "NORMAL_CLEARING")],
            )
        )
    )


#: The bearer token of the daemons' report route (in BASE_CONFIG's [reporting]).
REPORT_TOKEN = "e2e-report-token-0123456789abcdef"
assert REPORT_TOKEN in BASE_CONFIG

ALL_BRANDS = (
    'allowed_brands = ["visa", "mastercard", "amex", "discover", "diners", "jcb", "unionpay", '
    '"maestro"]\n'
)


def make_daemon(tmp: Path, latency: float, *, all_brands: bool = False) -> RunningDaemon:
    text = BASE_CONFIG.replace("$latency", repr(latency))
    if all_brands:
        text = text.replace("[capture]\n", "[capture]\n" + ALL_BRANDS, 1)
    return RunningDaemon(tmp, text)


@pytest.fixture(scope="session")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    """One daemon with a fast sandbox gateway, shared by the dialogue scenarios."""
    running = make_daemon(tmp_path_factory.mktemp("paymentd"), latency=0.02)
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def slow_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    """A daemon whose gateway takes 1.5 s: hold audio, and hang-ups while a charge is in flight."""
    running = make_daemon(tmp_path_factory.mktemp("paymentd-slow"), latency=1.5)
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def all_brands_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    """A daemon that accepts every brand paymentd knows (the default accepts four)."""
    running = make_daemon(tmp_path_factory.mktemp("paymentd-brands"), latency=0.02, all_brands=True)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def daemons() -> Iterator[Daemons]:
    """Daemons a test starts itself; whatever still runs at its end is killed."""
    started = Daemons()
    yield started
    started.kill_all()


@pytest.fixture
async def simulator() -> AsyncIterator[FreeSwitchSimulator]:
    # A fresh seed per call: FreeSWITCH never reuses a Unique-ID, and the daemons here
    # outlive each simulator.
    sim = FreeSwitchSimulator(
        time_scale=0.02, dialplan=dialplan(), log_level="debug", seed=secrets.randbits(32)
    )
    yield sim
    await sim.close()
