"""The OpenAPI file in the repository describes the API the daemon serves."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import attrs
import pytest

from paymentd.agent.api import build_agent_app
from paymentd.agent.config import LegMode
from paymentd.agent.payments import AgentPayment, PaymentParameters
from paymentd.agent.requests import parse_payment_request
from paymentd.agent.service import AgentService
from paymentd.capture.actions import Progress
from paymentd.config import parse_config
from paymentd.httpauth import BearerTokens
from paymentd.metrics import Metrics

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "agent-api.json"
TOKEN = "t" * 32


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return data


def served_routes() -> set[tuple[str, str]]:
    service = AgentService(parse_config({"agent": {"tokens": [TOKEN]}}), Metrics())
    app = build_agent_app(service)
    routes = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue  # aiohttp adds HEAD to every GET
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        routes.add((route.method.lower(), str(path)))
    return routes


def test_every_route_is_documented_and_every_documented_route_is_served(
    spec: dict[str, Any],
) -> None:
    documented = {(method, path) for path, item in spec["paths"].items() for method in item}
    assert documented == served_routes()


def test_every_operation_needs_a_token_and_says_so(spec: dict[str, Any]) -> None:
    assert spec["security"] == [{"bearer": []}]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert "401" in operation["responses"], (method, path)
            parameters = {p["name"] for p in operation.get("parameters", [])}
            assert set(re.findall(r"{(\w+)}", path)) <= parameters, (method, path)


def schema(spec: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = spec["components"]["schemas"][name]
    return found


def test_the_request_schema_lists_exactly_the_fields_the_parser_takes(
    spec: dict[str, Any],
) -> None:
    config = parse_config({})
    documented = set(schema(spec, "PaymentRequest")["properties"])
    assert schema(spec, "PaymentRequest")["additionalProperties"] is False
    # Every documented field is accepted; an undocumented one is refused.
    body = {"amount": "10.00", "currency": "USD", "account_id": "A", "reference": "R"}
    body |= {"mode": "detach", "return_to_agent": True, "customer_verified": True}
    body |= {"language": "en-US"}
    assert set(body) == documented
    parse_payment_request(body, config.agent, config.capture)
    modes = schema(spec, "PaymentRequest")["properties"]["mode"]["enum"]
    assert modes == [mode.value for mode in LegMode]


def test_the_payment_and_outcome_schemas_match_what_the_api_returns(
    spec: dict[str, Any],
) -> None:
    payment = AgentPayment("p", "c", "a", PaymentParameters(currency="USD", mode=LegMode.MUTE))
    assert set(schema(spec, "Payment")["properties"]) == set(payment.as_json())
    assert set(schema(spec, "Payment")["required"]) <= set(payment.as_json())
    payment.finish(None, result="caller-hung-up")
    assert payment.outcome is not None
    assert set(schema(spec, "Outcome")["properties"]) == set(payment.outcome)
    statuses = schema(spec, "Status")["enum"]
    assert statuses == ["transferring", "capturing", "returning", "finished"]


def test_the_progress_event_schema_covers_every_progress_field(spec: dict[str, Any]) -> None:
    progress = schema(spec, "ProgressEvent")["allOf"][1]["properties"]
    assert set(progress) == {field.name for field in attrs.fields(Progress)}


def test_bearer_tokens_match_by_index_and_refuse_near_misses() -> None:
    tokens = BearerTokens(["a" * 30, "b" * 30])
    assert tokens.match("a" * 30) == 0
    assert tokens.match("b" * 30) == 1
    assert tokens.match("a" * 29) is None
    assert tokens.match("a" * 31) is None
    assert tokens.match("") is None
    assert tokens.match("\udcff") is None
