"""The Stripe gateway against a real localstripe server (behind a recording proxy)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web

from paymentd.gateways import StripeConfig, Token
from paymentd.gateways.stripe import KEY_METADATA, StripeGateway
from paymentd.payments import Approved, ChargeRequest, Declined, DeclineReason, Failed, Unknown
from tests.gateways import support
from tests.gateways.stripe_proxy import StripeProxy

API_KEY = "sk_test_paymentd"
#: Stripe's card that is accepted as a PaymentMethod and declined on charge; localstripe knows it.
DECLINED_ON_CHARGE = "4000000000000341"


def stripe(
    http: aiohttp.ClientSession, base: str, timeout: float = 5.0, **settings: object
) -> StripeGateway:
    config = StripeConfig(api_key=API_KEY, api_base=base, **settings)  # type: ignore[arg-type]
    return StripeGateway(config, http, timeout)


async def fetch(http: aiohttp.ClientSession, base: str, path: str) -> dict[str, object]:
    async with http.get(base + path, headers={"Authorization": f"Bearer {API_KEY}"}) as response:
        assert response.status == 200
        data: dict[str, object] = await response.json()
        return data


async def test_tokenizes_then_confirms_a_moto_payment_intent(
    http: aiohttp.ClientSession, stripe_proxy: StripeProxy, localstripe: str
) -> None:
    request = support.charge_request(support.MASTERCARD, minor=4999, currency="EUR")
    outcome = await stripe(http, stripe_proxy.url).charge(request)
    assert isinstance(outcome, Approved)
    assert outcome.confirmation_code.startswith("pi_")
    assert (outcome.gateway_reference or "").startswith("ch_")
    assert request.card.number.wiped
    assert request.card.cvv is not None
    assert request.card.cvv.wiped

    tokenize, confirm = stripe_proxy.requests
    assert (tokenize.method, tokenize.path) == ("POST", "/v1/payment_methods")
    assert tokenize.form == {
        "type": "card",
        "card[number]": support.MASTERCARD,
        "card[exp_month]": "12",
        "card[exp_year]": "2034",
        "card[cvc]": support.CVV,
        "billing_details[address][postal_code]": "94107",
    }
    assert tokenize.headers["Idempotency-Key"] == f"{request.idempotency_key}-pm"
    assert (confirm.method, confirm.path) == ("POST", "/v1/payment_intents")
    payment_method = confirm.form["payment_method"]
    assert payment_method.startswith("pm_")
    assert confirm.form == {
        "amount": "4999",
        "currency": "eur",
        "payment_method": payment_method,
        "payment_method_types[0]": "card",
        "confirm": "true",
        "payment_method_options[card][moto]": "true",
        "metadata[paymentd_attempt_id]": request.attempt_id,
        f"metadata[{KEY_METADATA}]": request.idempotency_key,
        "metadata[paymentd_session_id]": request.session_id,
        "metadata[account_id]": "ACC-1001",
        "metadata[reference]": "INV-42",
    }
    assert confirm.headers["Idempotency-Key"] == request.idempotency_key
    assert confirm.headers["Authorization"] == f"Bearer {API_KEY}"
    assert support.MASTERCARD not in str(confirm.form)

    intent = await fetch(http, localstripe, f"/v1/payment_intents/{outcome.confirmation_code}")
    assert intent["status"] == "succeeded"
    assert (intent["amount"], intent["currency"], intent["payment_method"]) == (
        4999,
        "eur",
        payment_method,
    )
    assert intent["metadata"] == {
        "paymentd_attempt_id": request.attempt_id,
        KEY_METADATA: request.idempotency_key,
        "paymentd_session_id": request.session_id,
        "account_id": "ACC-1001",
        "reference": "INV-42",
    }


async def test_tokenize_and_charge_token_are_separate_steps(
    http: aiohttp.ClientSession, localstripe: str
) -> None:
    gateway = stripe(http, localstripe)
    request = support.charge_request()
    token = await gateway.tokenize(request)
    assert isinstance(token, Token)
    request.card.wipe()
    outcome = await gateway.charge_token(request, token)
    assert isinstance(outcome, Approved)


async def test_a_card_localstripe_declines_on_charge(
    http: aiohttp.ClientSession, localstripe: str
) -> None:
    gateway = stripe(http, localstripe)
    request = support.charge_request(DECLINED_ON_CHARGE)
    outcome = await gateway.charge(request)
    assert outcome == Declined(DeclineReason.GENERIC, "card_declined")
    # The declined PaymentIntent exists; lookup reads the decline from it.
    assert await gateway.lookup(request.idempotency_key) == outcome


@pytest.mark.parametrize(
    ("pan", "expected"),
    [
        (support.GENERIC_DECLINE, Declined(DeclineReason.GENERIC, "generic_decline")),
        (
            support.INSUFFICIENT_FUNDS,
            Declined(DeclineReason.INSUFFICIENT_FUNDS, "insufficient_funds"),
        ),
        (support.EXPIRED, Declined(DeclineReason.EXPIRED_CARD, "expired_card")),
        (support.INCORRECT_CVC, Declined(DeclineReason.INCORRECT_CVC, "incorrect_cvc")),
        (support.PROCESSING_ERROR, Failed(True, "the gateway reported processing_error")),
    ],
)
async def test_stripe_decline_cards_as_stripe_answers_them(
    http: aiohttp.ClientSession, stripe_proxy: StripeProxy, pan: str, expected: object
) -> None:
    # localstripe would approve these; the proxy answers with Stripe's documented 402 body.
    outcome = await stripe(http, stripe_proxy.url).charge(support.charge_request(pan))
    assert outcome == expected


async def test_lookup_scans_recent_intents_where_search_is_missing(
    http: aiohttp.ClientSession, stripe_proxy: StripeProxy
) -> None:
    gateway = stripe(http, stripe_proxy.url)
    request = support.charge_request()
    approved = await gateway.charge(request)
    stripe_proxy.requests.clear()
    assert await gateway.lookup(request.idempotency_key) == approved
    assert stripe_proxy.paths() == [
        "GET /v1/payment_intents/search",
        "GET /v1/payment_intents",
    ]
    assert await gateway.lookup("pd-never-sent") is None


async def charged_where_search_is(
    http: aiohttp.ClientSession, stripe_proxy: StripeProxy
) -> tuple[StripeGateway, ChargeRequest, Approved]:
    """A charge made through the proxy with Stripe's search API emulated."""
    stripe_proxy.search = True
    gateway = stripe(http, stripe_proxy.url)
    request = support.charge_request()
    approved = await gateway.charge(request)
    assert isinstance(approved, Approved)
    return gateway, request, approved


async def test_lookup_uses_search_where_available(
    http: aiohttp.ClientSession, stripe_proxy: StripeProxy
) -> None:
    gateway, request, approved = await charged_where_search_is(http, stripe_proxy)
    stripe_proxy.requests.clear()
    assert await gateway.lookup(request.idempotency_key) == approved
    # What search finds is read as it stands now.
    assert stripe_proxy.paths() == [
        "GET /v1/payment_intents/search",
        f"GET /v1/payment_intents/{approved.confirmation_code}",
    ]
    # Search finds nothing (it may lag behind): the list decides.
    assert await gateway.lookup("pd-never-sent") is None


async def test_lookup_does_not_trust_a_stale_search_copy(
    http: aiohttp.ClientSession, stripe_proxy: StripeProxy
) -> None:
    gateway, request, approved = await charged_where_search_is(http, stripe_proxy)
    # Search still shows the PaymentIntent as it was before it was confirmed.
    stripe_proxy.stale_search = "requires_payment_method"
    assert await gateway.lookup(request.idempotency_key) == approved


async def test_a_timeout_is_unknown_and_lookup_finds_the_charge(
    http: aiohttp.ClientSession, stripe_proxy: StripeProxy
) -> None:
    stripe_proxy.delay_intents = 1.0
    gateway = stripe(http, stripe_proxy.url, timeout=0.4)
    request = support.charge_request()
    outcome = await gateway.charge(request)
    assert outcome == Unknown("no reply within 0.4 s")
    found = await gateway.lookup(request.idempotency_key)
    assert isinstance(found, Approved)


async def test_a_refused_api_key_fails_without_charging(
    http: aiohttp.ClientSession, localstripe: str
) -> None:
    config = StripeConfig(api_key="not-a-secret-key", api_base=localstripe)
    outcome = await StripeGateway(config, http, 5).charge(support.charge_request())
    assert outcome == Failed(False, "HTTP 401: Stripe refused the API key")


async def test_an_unreachable_api_is_a_retryable_failure(http: aiohttp.ClientSession) -> None:
    outcome = await stripe(http, "http://127.0.0.1:9").charge(support.charge_request())
    assert isinstance(outcome, Failed)
    assert outcome.retryable


@pytest.mark.parametrize(
    ("money", "sent"),
    [
        ((500, "ISK"), "50000"),  # ISO: 0 decimals; Stripe: two, in whole krónur
        ((12500, "MGA"), "125"),  # ISO: 2 decimals; Stripe: zero-decimal
        ((5120, "KWD"), "5120"),  # three decimals, ending in 0
        ((1000, "JPY"), "1000"),
        ((12550, "EUR"), "12550"),
    ],
)
async def test_amounts_are_sent_in_stripes_units(
    http: aiohttp.ClientSession,
    stripe_proxy: StripeProxy,
    money: tuple[int, str],
    sent: str,
) -> None:
    minor, currency = money
    request = support.charge_request(minor=minor, currency=currency)
    assert isinstance(await stripe(http, stripe_proxy.url).charge(request), Approved)
    assert stripe_proxy.requests[-1].form["amount"] == sent


@pytest.mark.parametrize("money", [(12550, "MGA"), (5125, "KWD")])
async def test_an_amount_stripe_cannot_charge_is_refused_before_the_card_is_sent(
    http: aiohttp.ClientSession, stripe_proxy: StripeProxy, money: tuple[int, str]
) -> None:
    minor, currency = money
    outcome = await stripe(http, stripe_proxy.url).charge(
        support.charge_request(minor=minor, currency=currency)
    )
    assert outcome == Failed(False, f"Stripe cannot charge {minor} minor units of {currency}")
    assert stripe_proxy.requests == []


@attrs.define
class StripeStub:
    """Stripe's answers localstripe never gives: the PaymentIntent is answered with
    ``status`` and ``body`` (bodies as documented at docs.stripe.com/api/errors)."""

    status: int = 200
    body: dict[str, Any] = attrs.Factory(dict)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        if request.path == "/v1/payment_methods":
            return web.json_response({"id": "pm_stub", "object": "payment_method"})
        return web.json_response(self.body, status=self.status)


@pytest.fixture
async def stripe_stub() -> AsyncIterator[StripeStub]:
    stub = StripeStub()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", stub.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    stub.url = f"http://127.0.0.1:{port}"
    yield stub
    await runner.cleanup()


def _error(kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"type": kind, **({"code": code} if code else {}), "message": "..."}}


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # Nothing proves the charge was not made: lookup must decide.
        (409, _error("idempotency_error", "idempotency_key_in_use"), Unknown),
        (400, _error("idempotency_error"), Unknown),
        (424, _error("api_error"), Unknown),
        (429, _error("invalid_request_error", "lock_timeout"), Unknown),
        (500, _error("api_error"), Unknown),
        # Refused before anything ran.
        (
            429,
            _error("invalid_request_error", "rate_limit"),
            Failed(True, "HTTP 429: rate limited"),
        ),
        (
            400,
            _error("invalid_request_error", "parameter_invalid_integer"),
            Failed(False, "HTTP 400 (parameter_invalid_integer)"),
        ),
    ],
)
async def test_answers_that_do_not_prove_no_charge_are_unknown(
    http: aiohttp.ClientSession,
    stripe_stub: StripeStub,
    status: int,
    body: dict[str, Any],
    expected: object,
) -> None:
    stripe_stub.status, stripe_stub.body = status, body
    outcome = await stripe(http, stripe_stub.url).charge(support.charge_request())
    if expected is Unknown:
        assert isinstance(outcome, Unknown), outcome
    else:
        assert outcome == expected
