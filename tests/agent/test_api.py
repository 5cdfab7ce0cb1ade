"""The agent API over real HTTP: tokens, errors, idempotency, TLS."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path

import aiohttp
import pytest

from paymentd.testing import Action, Extension
from tests.agent.conftest import WorldFactory, open_desk
from tests.agent.harness import OTHER_TOKEN, TOKEN, VISA, AgentWorld, Desk, wait_until

UNKNOWN_PAYMENT = "00000000-0000-4000-8000-000000000000"


def refused(world: AgentWorld, reason: str) -> float:
    value = world.daemon.metrics.registry.get_sample_value(
        "paymentd_agent_api_refused_total", {"reason": reason}
    )
    return value or 0.0


def api_commands(world: AgentWorld) -> list[str]:
    """Every api command FreeSWITCH ran, with its argument."""
    commands = []
    for event in world.sim.bus_events("API"):
        headers = dict(event.headers)
        commands.append(f"{headers['API-Command']} {headers.get('API-Command-Argument') or ''}")
    return commands


async def test_requests_without_a_valid_token_are_refused_counted_and_start_nothing(
    world: AgentWorld, desk: Desk
) -> None:
    call = await world.agent_call()
    path = f"/v1/calls/{call.customer.uuid}/payments"
    attempts = [
        ("POST", path, None, {}),
        ("POST", path, "not-the-token", {}),
        ("POST", path, TOKEN[:-1], {}),
        ("POST", path, None, {"Authorization": f"Basic {TOKEN}"}),
        ("GET", f"/v1/payments/{UNKNOWN_PAYMENT}", None, {}),
        ("GET", f"/v1/payments/{UNKNOWN_PAYMENT}/events", "x" * 40, {}),
        ("POST", f"/v1/payments/{UNKNOWN_PAYMENT}/cancel", None, {}),
        ("GET", "/v1/no-such-route", None, {}),
    ]
    for method, target, token, headers in attempts:
        reply = await desk.request(
            method, target, token=token, headers={"Idempotency-Key": "k", **headers}
        )
        assert reply.status == 401, (method, target, reply)
        assert reply.headers["WWW-Authenticate"] == 'Bearer realm="paymentd"'
        assert reply.body["error"]["code"] in ("missing_token", "invalid_token")
        assert TOKEN[:-1] not in str(reply.body)
    assert refused(world, "missing_token") == 4
    assert refused(world, "invalid_token") == 4
    # The daemon's HTTP metrics count the agent API too, by route template.
    registry = world.daemon.metrics.registry
    total = 0.0
    for route in (
        "/v1/calls/{call_uuid}/payments",
        "/v1/payments/{payment_id}",
        "/v1/payments/{payment_id}/events",
        "/v1/payments/{payment_id}/cancel",
        "unmatched",
    ):
        total += (
            registry.get_sample_value("paymentd_http_auth_failures_total", {"route": route}) or 0
        )
    assert total == 8
    assert (
        registry.get_sample_value(
            "paymentd_http_requests_total",
            {"route": "/v1/calls/{call_uuid}/payments", "method": "POST", "status": "401"},
        )
        == 4
    )
    # Nothing reached FreeSWITCH.
    assert not [c for c in api_commands(world) if call.customer.uuid in c]


async def test_both_configured_tokens_work(world: AgentWorld, desk: Desk) -> None:
    for token in (TOKEN, OTHER_TOKEN):
        reply = await desk.request("GET", f"/v1/payments/{UNKNOWN_PAYMENT}", token=token)
        assert reply.status == 404
        assert reply.body["error"]["code"] == "payment_not_found"
    reply = await desk.request("GET", "/v1/nowhere")
    assert (reply.status, reply.body["error"]["code"]) == (404, "not_found")
    reply = await desk.request("DELETE", f"/v1/payments/{UNKNOWN_PAYMENT}")
    assert (reply.status, reply.body["error"]["code"]) == (405, "method_not_allowed")


async def test_an_unknown_call(world: AgentWorld, desk: Desk) -> None:
    reply = await desk.start_payment("4e0b6b1a-0000-4000-8000-00000000abcd", amount="10.00")
    assert reply.status == 404
    assert reply.body["error"]["code"] == "call_not_found"
    reply = await desk.start_payment("bad uuid", amount="10.00")
    assert reply.status in (400, 404)


async def test_a_call_not_bridged_to_an_agent(world: AgentWorld, desk: Desk) -> None:
    parked = Extension("parked", "7790", [Action("answer"), Action("park")])
    call = await world.sim.place_call("", extension=parked, destination="7790")
    await wait_until(lambda: call.session.channel.answered, what="the call answered")
    reply = await desk.start_payment(call.uuid, amount="10.00")
    assert reply.status == 409
    assert reply.body["error"]["code"] == "call_not_bridged"
    assert call.session.extensions_run == ["parked"]


async def test_bad_requests_name_the_field_and_echo_nothing(world: AgentWorld, desk: Desk) -> None:
    call = await world.agent_call()
    uuid = call.customer.uuid
    reply = await desk.request("POST", f"/v1/calls/{uuid}/payments", json_body={"amount": "10.00"})
    assert (reply.status, reply.body["error"]["code"]) == (400, "idempotency_key_required")
    reply = await desk.start_payment(uuid, reference=VISA)
    assert reply.status == 400
    assert reply.body["error"] == {
        "code": "invalid_request",
        "message": "reference: must not contain a card number",
        "field": "reference",
    }
    reply = await desk.start_payment(uuid, amount="0.10")
    assert (reply.status, reply.body["error"]["field"]) == (400, "amount")
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{desk.base}/v1/calls/{uuid}/payments",
            data=b"{not json",
            headers={
                "Authorization": f"Bearer {TOKEN}",
                "Idempotency-Key": "k",
                "Content-Type": "application/json",
            },
        ) as response,
    ):
        assert response.status == 400
        assert (await response.json())["error"]["field"] == "body"
    # None of these moved a leg.
    assert call.customer.session.extensions_run == ["agent-bridge"]


async def test_one_payment_per_call_and_idempotent_retries(world: AgentWorld, desk: Desk) -> None:
    call = await world.agent_call()
    uuid = call.customer.uuid
    first, retry = await asyncio.gather(
        desk.start_payment(uuid, key="order-7", amount="10.00", customer_verified=True),
        desk.start_payment(uuid, key="order-7", amount="10.00", customer_verified=True),
    )
    assert {first.status, retry.status} == {201}
    assert first.body["id"] == retry.body["id"]
    stream = desk.follow(first.body["id"])
    await stream.wait_for(lambda s: "capturing" in s.statuses())
    assert "true" in (
        first.headers.get("Idempotent-Replayed"),
        retry.headers.get("Idempotent-Replayed"),
    )
    # The same key for another request: refused.
    other = await desk.start_payment(uuid, key="order-7", amount="11.00")
    assert (other.status, other.body["error"]["code"]) == (422, "idempotency_key_reused")
    # A second payment on the call: refused, naming the running one.
    second = await desk.start_payment(uuid, key="order-8", amount="10.00")
    assert second.status == 409
    assert second.body["error"]["code"] == "payment_in_progress"
    assert second.body["error"]["payment_id"] == first.body["id"]
    # The other token has its own keys but the same call is still busy.
    third = await desk.start_payment(uuid, key="order-7", token=OTHER_TOKEN, amount="10.00")
    assert third.status == 409
    # Only one transfer was made.
    transfers = [c for c in api_commands(world) if c.startswith(f"uuid_transfer {uuid}")]
    assert len(transfers) == 1


async def test_unknown_payments(world: AgentWorld, desk: Desk) -> None:
    for payment_id in (UNKNOWN_PAYMENT, "not-a-uuid"):
        for method, suffix in (("GET", ""), ("GET", "/events"), ("POST", "/cancel")):
            reply = await desk.request(method, f"/v1/payments/{payment_id}{suffix}")
            assert reply.status == 404, (method, suffix)
            assert reply.body["error"]["code"] == "payment_not_found"


async def test_freeswitch_unreachable(world: AgentWorld, desk: Desk) -> None:
    call = await world.agent_call()
    await world.inbound.stop()
    agent = world.daemon.agent
    assert agent is not None
    await wait_until(lambda: not agent.inbound.connected, what="the inbound connection down")
    reply = await desk.start_payment(call.customer.uuid, amount="10.00")
    assert reply.status == 503
    assert reply.body["error"]["code"] == "freeswitch_unavailable"
    health = world.daemon.metrics.registry.get_sample_value("paymentd_esl_inbound_up")
    assert health == 0


def self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "agent.crt", directory / "agent.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_tls(make_world: WorldFactory, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    world = await make_world(agent={"tls_cert": str(cert), "tls_key": str(key)})
    trusting = ssl.create_default_context(cafile=str(cert))
    desk = open_desk(world.api_port, scheme="https", ssl_context=trusting)
    reply = await desk.request("GET", f"/v1/payments/{UNKNOWN_PAYMENT}")
    assert reply.status == 404
    plain = open_desk(world.api_port)
    with pytest.raises(aiohttp.ClientError):
        await plain.request("GET", f"/v1/payments/{UNKNOWN_PAYMENT}")


async def test_two_desks_racing_for_one_call_start_one_payment(
    world: AgentWorld, desk: Desk
) -> None:
    call = await world.agent_call()
    replies = await asyncio.gather(
        *(desk.start_payment(call.customer.uuid, key=f"race-{n}", amount="10.00") for n in range(3))
    )
    assert sorted(r.status for r in replies) == [201, 409, 409]
    assert {r.body["error"]["code"] for r in replies if r.status == 409} == {"payment_in_progress"}
    transfers = [c for c in api_commands(world) if c.startswith("uuid_transfer")]
    assert len(transfers) == 1
