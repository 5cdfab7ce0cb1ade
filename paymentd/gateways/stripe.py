"""Stripe: tokenize the card as a PaymentMethod, then a confirmed MOTO PaymentIntent.

1. ``POST /v1/payment_methods`` with the card creates a PaymentMethod. The
   charging service records its id in the ledger and wipes the PAN and CVV;
   from here on the attempt can be resolved without the card.
2. ``POST /v1/payment_intents`` with ``payment_method``, ``confirm=true``,
   ``payment_method_options[card][moto]=true`` (a phone order: no 3-D Secure),
   the attempt's ``Idempotency-Key`` and metadata (attempt id, idempotency key,
   session, account, reference).

Lookup finds the PaymentIntent by its metadata: the search API first (what it
finds is then read by id, since search shows a copy that may be minutes old); if
search is not available (it is not in every region, nor in localstripe) or finds
nothing (it is eventually consistent), the most recent PaymentIntents are listed
and scanned. Only a fully scanned list proves that no charge exists.

Amounts are sent in Stripe's units, which are ISO 4217's but for ISK (two-decimal
in Stripe's API) and MGA (zero-decimal there); an amount Stripe cannot charge
(fractional ariary, a three-decimal amount not ending in 0) is refused before the
card is sent.  Answers that do not prove the charge was not made (409, 424, a 429
lock timeout, an idempotency error, 5xx) are unknown outcomes, resolved by lookup.

Sending raw card numbers to Stripe's API must be enabled for the account
(Stripe asks for PCI SAQ D evidence); MOTO must be enabled too.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp

from paymentd.gateways.base import Token
from paymentd.gateways.codes import outcome_for_code
from paymentd.gateways.config import StripeConfig
from paymentd.gateways.http import NoReply, NotSent, Reply, exchange
from paymentd.money import Money, currency_exponent
from paymentd.payments import (
    Approved,
    ChargeOutcome,
    ChargeRequest,
    Declined,
    DeclineReason,
    Failed,
    Unknown,
    sanitize_code,
    sanitize_reference,
)

__all__ = ["StripeGateway"]

log = logging.getLogger(__name__)

#: The API version this module speaks; pinned so an account upgrade cannot change it.
API_VERSION = "2024-06-20"
#: Metadata key carrying the idempotency key, which lookup searches for.
KEY_METADATA = "paymentd_idempotency_key"


def stripe_amount(amount: Money) -> int | None:
    """``amount`` as Stripe's ``amount`` field counts it, or ``None`` if Stripe cannot
    charge it (docs.stripe.com/currencies).

    Stripe counts in ISO 4217 minor units but for two currencies: ISK stays
    two-decimal in its API, in whole krónur only (``100`` is 1 ISK), and MGA is
    zero-decimal there.  Three-decimal amounts must end in 0 (5.120 KWD, not 5.125).
    """
    minor = amount.minor
    if amount.currency == "ISK":
        return minor * 100
    if amount.currency == "MGA":
        return minor // 100 if minor % 100 == 0 else None
    if currency_exponent(amount.currency) == 3 and minor % 10:
        return None
    return minor


def _unchargeable(amount: Money) -> Failed:
    return Failed(
        retryable=False,
        detail=f"Stripe cannot charge {amount.minor} minor units of {amount.currency}",
    )


def _error_outcome(data: Any) -> Declined | Failed | None:
    """The card error in a Stripe error body or a PaymentIntent's last_payment_error."""
    error = data.get("error") if isinstance(data, dict) and "error" in data else data
    if not isinstance(error, dict) or not error.get("code"):
        return None
    decline_code = error.get("decline_code")
    return outcome_for_code(str(error["code"]), str(decline_code) if decline_code else None)


def _intent_outcome(intent: dict[str, Any]) -> ChargeOutcome:
    """What a PaymentIntent's state means for the charge."""
    status = intent.get("status")
    intent_id = str(intent.get("id", ""))
    if status in ("succeeded", "requires_capture"):
        charge = intent.get("latest_charge")
        charge_id = charge.get("id") if isinstance(charge, dict) else charge
        return Approved(confirmation_code=intent_id, gateway_reference=charge_id or intent_id)
    if status == "processing":
        return Unknown("the PaymentIntent is still processing")
    if status == "requires_action":
        return Declined(DeclineReason.CARD_NOT_SUPPORTED, "authentication_required")
    if status == "requires_payment_method":
        error = _error_outcome(intent.get("last_payment_error"))
        return error or Failed(retryable=False, detail="the PaymentIntent was never confirmed")
    return Failed(retryable=False, detail=f"the PaymentIntent is {sanitize_code(str(status))}")


class StripeGateway:
    """Charges through Stripe's API (or a compatible server such as localstripe)."""

    name = "stripe"

    def __init__(
        self, config: StripeConfig, session: aiohttp.ClientSession, timeout_seconds: float
    ) -> None:
        if not config.api_key:
            raise ValueError("the Stripe gateway needs gateway.stripe.api_key")
        self._api_key = config.api_key
        self._base = config.api_base.rstrip("/")
        self._pages = config.lookup_pages
        self._session = session
        self._timeout = timeout_seconds

    async def _call(
        self,
        method: str,
        path: str,
        form: list[tuple[str, str]] | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[Reply | NotSent | NoReply, Any]:
        headers = {"Authorization": f"Bearer {self._api_key}", "Stripe-Version": API_VERSION}
        body = None
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(form).encode("ascii")
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        reply = await exchange(
            self._session,
            method,
            self._base + path,
            timeout=self._timeout,
            headers=headers,
            body=body,
        )
        data = None
        if isinstance(reply, Reply):
            try:
                data = json.loads(reply.body)
            except (UnicodeDecodeError, json.JSONDecodeError):
                data = None
        return reply, data

    async def tokenize(self, request: ChargeRequest) -> Token | Declined | Failed:
        if stripe_amount(request.amount) is None:
            # Refused before the card is sent anywhere: Stripe would answer 400.
            return _unchargeable(request.amount)
        card = request.card
        form = [("type", "card"), ("card[number]", card.number.reveal())]
        if card.expiry is not None:
            form += [
                ("card[exp_month]", str(card.expiry.month)),
                ("card[exp_year]", str(card.expiry.year)),
            ]
        if card.cvv is not None:
            form.append(("card[cvc]", card.cvv.reveal()))
        if card.postal_code:
            form.append(("billing_details[address][postal_code]", card.postal_code))
        # Its own key: a retried tokenization must not be confused with the charge.
        reply, data = await self._call(
            "POST", "/v1/payment_methods", form, f"{request.idempotency_key}-pm"
        )
        if isinstance(reply, Reply) and reply.status == 200 and isinstance(data, dict):
            token = sanitize_reference(str(data.get("id", "")))
            if token:
                return Token(token)
        # Creating a PaymentMethod moves no money, so every other result is "not charged".
        outcome = self._read(reply, data)
        if isinstance(outcome, Declined | Failed):
            return outcome
        detail = outcome.detail if isinstance(outcome, Unknown) else "unexpected answer"
        return Failed(retryable=True, detail=f"tokenization: {detail}")

    async def charge_token(self, request: ChargeRequest, token: Token) -> ChargeOutcome:
        amount = stripe_amount(request.amount)
        if amount is None:
            return _unchargeable(request.amount)
        metadata = {
            "paymentd_attempt_id": request.attempt_id,
            KEY_METADATA: request.idempotency_key,
            "paymentd_session_id": request.session_id,
            "account_id": request.account_id or "",
            "reference": request.reference or "",
        }
        form = [
            ("amount", str(amount)),
            ("currency", request.amount.currency.lower()),
            ("payment_method", token.id),
            ("payment_method_types[0]", "card"),
            ("confirm", "true"),
            ("payment_method_options[card][moto]", "true" if request.moto else "false"),
            *((f"metadata[{k}]", v) for k, v in metadata.items()),
        ]
        started = time.monotonic()
        reply, data = await self._call("POST", "/v1/payment_intents", form, request.idempotency_key)
        outcome = self._read(reply, data)
        log.info(
            "stripe answered",
            extra={
                "attempt_id": request.attempt_id,
                "outcome": type(outcome).__name__,
                "seconds": round(time.monotonic() - started, 3),
            },
        )
        return outcome

    async def charge(self, request: ChargeRequest) -> ChargeOutcome:
        token = await self.tokenize(request)
        if not isinstance(token, Token):
            return token
        request.card.wipe()
        return await self.charge_token(request, token)

    def _read(self, reply: Reply | NotSent | NoReply, data: Any) -> ChargeOutcome:
        if isinstance(reply, NotSent):
            return Failed(retryable=True, detail=reply.detail)
        if isinstance(reply, NoReply):
            return Unknown(reply.detail)
        status = reply.status
        if status == 200 and isinstance(data, dict) and data.get("object") == "payment_intent":
            return _intent_outcome(data)
        if status == 402:
            return _error_outcome(data) or Declined(DeclineReason.GENERIC, "card_error")
        code = kind = None
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            code = sanitize_code(str(data["error"].get("code") or data["error"].get("type")))
            kind = data["error"].get("type")
        described = f"HTTP {status}" + (f" ({code})" if code else "")
        if status in (401, 403):
            return Failed(retryable=False, detail=f"HTTP {status}: Stripe refused the API key")
        if status == 429 and code != "lock_timeout":
            # The rate limiter answers before the request is run (docs.stripe.com/rate-limits).
            return Failed(retryable=True, detail="HTTP 429: rate limited")
        if (
            status in (409, 424, 429)
            or status >= 500
            or status == 200
            or kind == "idempotency_error"
        ):
            # Nothing here proves the charge did not happen: 409, the same key is still
            # being processed; 424, a downstream service failed mid-request; a lock
            # timeout; an idempotency error, the key was used before (maybe charged);
            # 5xx; 200 without an intent, unreadable.  Lookup decides.
            return Unknown(described)
        return Failed(retryable=False, detail=described)

    async def lookup(self, idempotency_key: str) -> ChargeOutcome | None:
        quoted = idempotency_key.replace("\\", "\\\\").replace("'", "\\'")
        query = urlencode({"query": f"metadata['{KEY_METADATA}']:'{quoted}'", "limit": "1"})
        reply, data = await self._call("GET", f"/v1/payment_intents/search?{query}")
        if isinstance(reply, Reply) and reply.status == 200 and isinstance(data, dict):
            for intent in data.get("data") or []:
                # Search shows a copy up to a minute old (an hour in an incident): it
                # finds the PaymentIntent, which is then read as it stands now.
                return await self._current(intent)
        elif not (isinstance(reply, Reply) and reply.status in (400, 404)):
            # 400/404 mean "no search API here"; anything else is trouble reaching Stripe.
            return Unknown("lookup: Stripe could not be asked")
        return await self._scan(idempotency_key)

    async def _current(self, found: Any) -> ChargeOutcome:
        intent_id = sanitize_reference(str(found.get("id", "")) if isinstance(found, dict) else "")
        if not intent_id or not intent_id.startswith("pi_"):
            return Unknown("lookup: search found an unreadable PaymentIntent")
        reply, data = await self._call("GET", f"/v1/payment_intents/{intent_id}")
        if isinstance(reply, Reply) and reply.status == 200 and isinstance(data, dict):
            return _intent_outcome(data)
        return Unknown("lookup: the PaymentIntent search found could not be read")

    async def _scan(self, idempotency_key: str) -> ChargeOutcome | None:
        """Look through the most recent PaymentIntents for the key's metadata."""
        after: str | None = None
        for _page in range(self._pages):
            params = {"limit": "100", **({"starting_after": after} if after else {})}
            reply, data = await self._call("GET", f"/v1/payment_intents?{urlencode(params)}")
            if not (isinstance(reply, Reply) and reply.status == 200 and isinstance(data, dict)):
                return Unknown("lookup: the PaymentIntents could not be listed")
            intents = [i for i in data.get("data") or [] if isinstance(i, dict)]
            for intent in intents:
                if (intent.get("metadata") or {}).get(KEY_METADATA) == idempotency_key:
                    return _intent_outcome(intent)
            if not data.get("has_more") or not intents:
                return None
            after = str(intents[-1].get("id"))
        return Unknown(f"lookup: not among the {self._pages * 100} most recent PaymentIntents")

    async def close(self) -> None:
        """The HTTP session is shared and closed by its owner."""
