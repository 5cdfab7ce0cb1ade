"""The REST connector against a real aiohttp endpoint (tests/gateways/processor.py)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from paymentd.gateways import RestConfig
from paymentd.gateways.rest import RestGateway
from paymentd.gateways.signing import sign, verify
from paymentd.payments import Approved, Declined, DeclineReason, Failed, Unknown
from tests.gateways import support
from tests.gateways.processor import SECRET, Processor
from tests.gateways.tls import make_pki


def rest(
    http: aiohttp.ClientSession, url: str, *, timeout: float = 2.0, **settings: object
) -> RestGateway:
    config = RestConfig(url=url, **{"signing_secret": SECRET, **settings})  # type: ignore[arg-type]
    return RestGateway(config, http, timeout)


async def test_approval_sends_the_generic_pay_connector_shape(
    http: aiohttp.ClientSession, processor: Processor
) -> None:
    request = support.charge_request(support.AMEX, minor=12550, currency="USD")
    outcome = await rest(http, processor.url).charge(request)
    assert isinstance(outcome, Approved)
    assert outcome.confirmation_code.startswith("ch_")
    assert outcome.gateway_reference == outcome.confirmation_code
    assert processor.charged == [request.idempotency_key]
    (body,) = processor.requests
    assert body == {
        "method": "charge",
        "transaction_id": request.idempotency_key,
        "cardnumber": support.AMEX,
        "cvv": support.AMEX_CID,
        "expiry_month": "12",
        "expiry_year": "2034",
        "postal_code": "94107",
        "description": "INV-42",
        "amount": "125.50",
        "currency_code": "USD",
        "parameters": {
            "attempt_id": request.attempt_id,
            "session_id": request.session_id,
            "account_id": "ACC-1001",
            "reference": "INV-42",
            "mode": "automated",
            "moto": "true",
        },
    }


async def test_amounts_follow_the_currency_exponent(
    http: aiohttp.ClientSession, processor: Processor
) -> None:
    gateway = rest(http, processor.url)
    await gateway.charge(support.charge_request(minor=1250, currency="JPY"))
    await gateway.charge(support.charge_request(minor=1250, currency="BHD"))
    assert [r["amount"] for r in processor.requests] == ["1250", "1.250"]


@pytest.mark.parametrize(
    ("pan", "reason"),
    [
        ("4000000000000002", DeclineReason.GENERIC),
        ("4000000000000127", DeclineReason.INCORRECT_CVC),
        ("4000000000000069", DeclineReason.EXPIRED_CARD),
        ("4000000000009995", DeclineReason.INSUFFICIENT_FUNDS),
        ("4000000000000101", DeclineReason.DO_NOT_HONOR),
        ("4000000000000200", DeclineReason.INVALID_NUMBER),
        ("4000000000000309", DeclineReason.CARD_NOT_SUPPORTED),
        ("4100000000000019", DeclineReason.FRAUD_SUSPECTED),
    ],
)
async def test_each_decline_reason(
    http: aiohttp.ClientSession, processor: Processor, pan: str, reason: DeclineReason
) -> None:
    outcome = await rest(http, processor.url).charge(support.charge_request(pan))
    assert isinstance(outcome, Declined)
    assert outcome.reason is reason
    # The endpoint's free-text error_message (which quotes the card here) is never read.
    assert pan not in repr(outcome)
    assert processor.charged == []


async def test_processing_error_is_a_retryable_failure(
    http: aiohttp.ClientSession, processor: Processor
) -> None:
    outcome = await rest(http, processor.url).charge(
        support.charge_request(support.PROCESSING_ERROR)
    )
    assert outcome == Failed(True, "the gateway reported processing_error")


async def test_a_replayed_transaction_is_charged_once(
    http: aiohttp.ClientSession, processor: Processor
) -> None:
    gateway = rest(http, processor.url)
    first = await gateway.charge(support.charge_request(key="pd-replay"))
    second = await gateway.charge(support.charge_request(key="pd-replay"))
    assert first == second
    assert processor.charged == ["pd-replay"]


async def test_a_slow_answer_times_out_as_unknown_and_lookup_finds_the_charge(
    http: aiohttp.ClientSession, processor: Processor
) -> None:
    processor.delay = 1.0
    gateway = rest(http, processor.url, timeout=0.3)
    request = support.charge_request()
    outcome = await gateway.charge(request)
    assert isinstance(outcome, Unknown)
    assert "no reply within 0.3 s" in outcome.detail
    found = await gateway.lookup(request.idempotency_key)
    assert isinstance(found, Approved)
    assert processor.charged == [request.idempotency_key]


async def test_a_server_error_after_charging_is_unknown_until_looked_up(
    http: aiohttp.ClientSession, processor: Processor
) -> None:
    processor.status = 500
    gateway = rest(http, processor.url)
    request = support.charge_request()
    assert await gateway.charge(request) == Unknown("HTTP 500")
    assert isinstance(await gateway.lookup(request.idempotency_key), Approved)


@pytest.mark.parametrize("status", [429, 503])
async def test_unavailable_means_not_processed(
    http: aiohttp.ClientSession, processor: Processor, status: int
) -> None:
    processor.refuse_status = status
    gateway = rest(http, processor.url)
    request = support.charge_request()
    assert await gateway.charge(request) == Failed(True, f"HTTP {status}")
    assert await gateway.lookup(request.idempotency_key) is None


async def test_malformed_json_is_unknown_and_lookup_resolves_it(
    http: aiohttp.ClientSession, processor: Processor
) -> None:
    processor.garble = True
    gateway = rest(http, processor.url)
    request = support.charge_request(support.INSUFFICIENT_FUNDS)
    assert await gateway.charge(request) == Unknown("HTTP 200 with a body that is not JSON")
    found = await gateway.lookup(request.idempotency_key)
    assert isinstance(found, Declined)
    assert found.reason is DeclineReason.INSUFFICIENT_FUNDS


async def test_a_wrong_signature_is_refused_by_the_endpoint(
    http: aiohttp.ClientSession, processor: Processor
) -> None:
    outcome = await rest(http, processor.url, signing_secret="not-the-secret").charge(
        support.charge_request()
    )
    assert outcome == Failed(False, "HTTP 401: credentials or signature refused")
    assert processor.rejected == 1
    assert processor.charged == []
    unsigned = await rest(http, processor.url, signing_secret=None).charge(support.charge_request())
    assert isinstance(unsigned, Failed)
    assert processor.rejected == 2


def test_signatures_cover_timestamp_and_body_and_expire() -> None:
    body = b'{"a":1}'
    signature = sign("k", 1_700_000_000, body)
    assert signature.startswith("v1=")
    assert verify("k", "1700000000", signature, body, now=1_700_000_100)
    assert not verify("k", "1700000000", signature, body + b" ", now=1_700_000_100)
    assert not verify("k", "1700000001", signature, body, now=1_700_000_100)
    assert not verify("other", "1700000000", signature, body, now=1_700_000_100)
    assert not verify("k", "1700000000", signature, body, now=1_700_001_000)
    assert not verify("k", None, signature, body, now=1_700_000_000)


@pytest.mark.parametrize(
    ("server_auth", "client", "approved"),
    [
        (("basic", "merchant", "pw"), {"basic_username": "merchant", "basic_password": "pw"}, True),
        (
            ("basic", "merchant", "pw"),
            {"basic_username": "merchant", "basic_password": "no"},
            False,
        ),
        (("bearer", "tok-123"), {"bearer_token": "tok-123"}, True),
        (("bearer", "tok-123"), {"bearer_token": "tok-999"}, False),
        (("bearer", "tok-123"), {}, False),
    ],
)
async def test_basic_and_bearer_auth(
    http: aiohttp.ClientSession,
    processor: Processor,
    server_auth: tuple[str, ...],
    client: dict[str, Any],
    approved: bool,
) -> None:
    processor.auth = server_auth
    outcome = await rest(http, processor.url, **client).charge(support.charge_request())
    if approved:
        assert isinstance(outcome, Approved)
    else:
        assert outcome == Failed(False, "HTTP 401: credentials or signature refused")
        assert processor.charged == []


async def test_an_unreachable_endpoint_is_a_retryable_failure(
    http: aiohttp.ClientSession, processor: Processor
) -> None:
    gateway = rest(http, "http://127.0.0.1:9/pay")
    outcome = await gateway.charge(support.charge_request())
    assert isinstance(outcome, Failed)
    assert outcome.retryable
    assert "could not connect" in outcome.detail
    assert isinstance(await gateway.lookup("pd-x"), Unknown)


async def test_lookup_of_a_key_never_seen_is_none(
    http: aiohttp.ClientSession, processor: Processor
) -> None:
    assert await rest(http, processor.url).lookup("pd-never") is None


async def test_lookup_goes_to_the_lookup_url(
    http: aiohttp.ClientSession, processor: Processor
) -> None:
    gateway = rest(http, "http://127.0.0.1:9/pay", lookup_url=processor.url)
    assert await gateway.lookup("pd-never") is None


async def test_mutual_tls_with_a_client_certificate(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path)
    if pki is None:
        pytest.skip("the openssl command is not installed")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca))
    server_tls.load_cert_chain(pki.server_cert, pki.server_key)
    server_tls.verify_mode = ssl.CERT_REQUIRED
    endpoint = Processor()
    runner = await endpoint.start(server_tls)
    try:
        good = rest(
            http,
            endpoint.url,
            ca_file=str(pki.ca),
            client_cert=str(pki.client_cert),
            client_key=str(pki.client_key),
        )
        assert isinstance(await good.charge(support.charge_request()), Approved)
        # No client certificate: the endpoint refuses the connection, nothing is charged.
        anonymous = rest(http, endpoint.url, ca_file=str(pki.ca))
        assert isinstance(await anonymous.charge(support.charge_request()), Failed | Unknown)
        # A server certificate from the wrong CA: refused before anything is sent.
        distrustful = rest(
            http,
            endpoint.url,
            ca_file=str(pki.other_ca),
            client_cert=str(pki.client_cert),
            client_key=str(pki.client_key),
        )
        outcome = await distrustful.charge(support.charge_request())
        assert isinstance(outcome, Failed)
        assert "TLS handshake failed" in outcome.detail
        assert len(endpoint.charged) == 1
    finally:
        await runner.cleanup()
