"""Issue 3 end to end: a real ``paymentd serve`` process, the FreeSWITCH simulator over
real sockets, the sandbox gateway and the SQLite ledger.

Every scenario asserts the output variables, the route the call took, the prompts the
caller heard, and the session's result in the ledger.  The last test scans everything
the runs produced for the card data the callers keyed.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import pytest

from paymentd.testing import CallResult, FreeSwitchSimulator, Script
from tests.e2e.conftest import PAY, REPORT_TOKEN
from tests.e2e.daemon import RunningDaemon
from tests.e2e.scenarios import CARD_DATA, SCENARIOS, Scenario

pytestmark = pytest.mark.slow

#: Evidence from every scenario run, scanned for card data at the end.
EVIDENCE: list[str] = []
RUN_DAEMONS: list[RunningDaemon] = []


def ledger_result(daemon: RunningDaemon, call_uuid: str) -> tuple[bool, str | None]:
    """(session found, its result) from the daemon's SQLite ledger."""
    with sqlite3.connect(f"file:{daemon.ledger_path}?mode=ro", uri=True) as db:
        row = db.execute(
            "SELECT result FROM ledger_sessions WHERE call_uuid = ? AND ended_at IS NOT NULL",
            (call_uuid,),
        ).fetchone()
    return (row is not None, None if row is None else row[0])


async def wait_ledger(daemon: RunningDaemon, call_uuid: str, timeout: float = 10.0) -> str | None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found, result = ledger_result(daemon, call_uuid)
        if found:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no finished ledger session for call {call_uuid}")
        await asyncio.sleep(0.05)


def assert_heard_in_order(result: CallResult, fragments: tuple[str, ...]) -> None:
    # One playback may say several prompts (file_string://a.wav!b.wav): search the whole
    # sequence of file names as one text.
    heard = "\n".join(prompt.file for prompt in result.prompts)
    position = 0
    for fragment in fragments:
        found = heard.find(fragment, position)
        assert found >= 0, f"never heard {fragment!r} (in order); heard:\n{heard}"
        position = found + len(fragment)


async def run_scenario(
    scenario: Scenario, daemon: RunningDaemon, simulator: FreeSwitchSimulator
) -> CallResult:
    call = await simulator.place_call(
        ("127.0.0.1", daemon.esl_port),
        extension=PAY,
        variables=scenario.variables,
        caller=Script(*scenario.rules),
    )
    result = await call.wait_closed(timeout=90)
    EVIDENCE.append(simulator.everything_text())
    return result


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
async def test_scenario(
    scenario: Scenario,
    daemon: RunningDaemon,
    slow_daemon: RunningDaemon,
    all_brands_daemon: RunningDaemon,
    simulator: FreeSwitchSimulator,
) -> None:
    if scenario.slow_gateway:
        running = slow_daemon
    elif scenario.all_brands:
        running = all_brands_daemon
    else:
        running = daemon
    if running not in RUN_DAEMONS:
        RUN_DAEMONS.append(running)
    result = await run_scenario(scenario, running, simulator)
    variables = result.variables

    assert variables.get("paymentd_result") == scenario.result, scenario.id
    for name, value in scenario.expect.items():
        assert variables.get(name) == value, f"{name}: {variables.get(name)!r} != {value!r}"
    if scenario.result is not None:
        assert variables.get("paymentd_session_id")

    routes = {
        "resume": variables.get("after_socket") == "reached",
        "queue": variables.get("queue_reached") == "yes",
        "identify": variables.get("identify_reached") == "yes",
    }
    if scenario.route == "hangup":
        assert not any(routes.values()), f"a hung-up call went on: {routes}"
    else:
        assert routes[scenario.route], f"expected route {scenario.route}, got {routes}"
        others = [name for name, taken in routes.items() if taken and name != scenario.route]
        assert not others

    assert_heard_in_order(result, scenario.heard)
    files = " ".join(prompt.file for prompt in result.prompts)
    for fragment in scenario.not_heard:
        assert fragment not in files

    expected = scenario.ledger_result if scenario.ledger_result is not None else scenario.result
    if scenario.id == "hang-up-before-anything":
        found, recorded = ledger_result(running, result.uuid)
        assert not found or recorded == "caller-hung-up"
    elif expected is not None:
        assert await wait_ledger(running, result.uuid) == expected

    # Nothing but masked values in the channel's variables, whatever happened.
    pattern = _card_data_pattern()
    assert {k: v for k, v in variables.items() if pattern.search(v)} == {}


def _card_data_pattern() -> re.Pattern[str]:
    # Short values (CVV, expiry, postal code) count only as whole numbers: not inside a
    # longer run of digits or letters, not after a decimal point.
    return re.compile(
        "|".join(rf"(?<![0-9A-Za-z.]){re.escape(s)}(?![0-9A-Za-z.])" for s in CARD_DATA)
    )


async def test_nothing_the_runs_produced_contains_card_data(
    daemon: RunningDaemon, simulator: FreeSwitchSimulator
) -> None:
    if not EVIDENCE:
        # Run alone: produce the evidence first.
        for scenario in SCENARIOS:
            if not (scenario.slow_gateway or scenario.all_brands):
                await run_scenario(scenario, daemon, simulator)
        RUN_DAEMONS.append(daemon)
    pattern = _card_data_pattern()
    sources: dict[str, str] = {"simulator": "\n".join(EVIDENCE)}
    for index, running in enumerate(RUN_DAEMONS):
        sources[f"log-{index}"] = running.log_text()
        sources[f"metrics-{index}"] = await running.aget("/metrics")
        sources[f"healthz-{index}"] = await running.aget("/healthz")
        for fmt in ("json", "csv"):
            report = await running.aget(
                f"/v1/reports/sessions?since=1d&format={fmt}", token=REPORT_TOKEN
            )
            assert "session" in report
            sources[f"report-{fmt}-{index}"] = report
        ledger = Path(running.ledger_path)
        for path in ledger.parent.glob(ledger.name + "*"):
            sources[f"ledger-{path.name}-{index}"] = path.read_bytes().decode("latin-1")
    assert len(sources["simulator"]) > 100_000, "the scan must have something to scan"
    hits = {name: pattern.findall(text)[:5] for name, text in sources.items()}
    assert {name: found for name, found in hits.items() if found} == {}
