"""README.md stays true: the configuration reference, the variables, the commands, the routes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from paymentd.capture.call import VARIABLES_IN
from paymentd.capture.results import Result
from paymentd.cli import build_parser
from paymentd.metrics import Metrics
from scripts.sync_readme import readme_with_config

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def test_configuration_reference_is_current() -> None:
    assert readme_with_config(README) == README, "run `make readme`"


def test_the_two_commands_are_given() -> None:
    assert "make run" in README
    assert "make test" in README


def test_every_channel_variable_read_and_written_is_documented() -> None:
    for name in VARIABLES_IN:
        assert f"`{name}`" in README, name
    for result in Result:
        assert f"`{result.value}`" in README, result
    # Every variable the daemon sets on a call: collected from the source.
    written = set()
    for path in (REPO / "paymentd").rglob("*.py"):
        if "testing" in path.parts:
            continue
        written.update(re.findall(r'"(paymentd_(?:segment_)?[a-z0-9_]+)"', path.read_text()))
    metrics = {
        sample.name for family in Metrics().registry.collect() for sample in family.samples
    } | {family.name for family in Metrics().registry.collect()}
    variables = {
        n
        for n in written - metrics
        if n.startswith(
            ("paymentd_result", "paymentd_session_id", "paymentd_card_", "paymentd_segment_")
        )
        or n
        in {
            "paymentd_confirmation_code",
            "paymentd_decline_count",
            "paymentd_error_type",
            "paymentd_return_extension",
            "paymentd_return_context",
        }
    }
    assert variables, "the scan found nothing: the pattern is broken"
    missing = sorted(n for n in variables if f"`{n}`" not in README)
    assert missing == []


def test_every_subcommand_is_mentioned() -> None:
    parser = build_parser()
    commands = next(action for action in parser._actions if action.dest == "command").choices
    assert commands
    for name in commands:
        assert f"paymentd {name}" in README or f"`{name}`" in README, name


def test_every_agent_api_route_is_listed() -> None:
    spec = json.loads((REPO / "openapi" / "agent-api.json").read_text())
    for route, operations in spec["paths"].items():
        for method in operations:
            if method in {"get", "post", "put", "delete", "patch"}:
                assert f"{method.upper()} {route}" in README, (method, route)
