"""The generic REST connector: the Twilio Generic Pay Connector's JSON, signed.

Request (POST, ``application/json``), the Generic Pay Connector's charge shape
plus our context under ``parameters``::

    {"method": "charge", "transaction_id": "<idempotency key>",
     "cardnumber": "...", "cvv": "...", "expiry_month": "08", "expiry_year": "2030",
     "postal_code": "...", "description": "<reference>",
     "amount": "125.50", "currency_code": "USD",
     "parameters": {"attempt_id": "...", "session_id": "...", "account_id": "...",
                    "reference": "...", "mode": "automated", "moto": "true"}}

Response: ``{"charge_id": "...", "error_code": null, "error_message": null}``;
a charge id and no error code is an approval, an error code a decline (or a
retryable failure, see :mod:`paymentd.gateways.codes`). ``error_message`` is
never read: it is the endpoint's free text.

Lookup is our extension (the Twilio connector has none): the same endpoint (or
``lookup_url``) receives ``{"method": "lookup", "transaction_id": "<key>"}``
and answers as for the charge, or 404 if it never saw that transaction. The
endpoint must treat ``transaction_id`` as an idempotency key: a second charge
with the same id returns the first answer.

Every request carries ``X-Paymentd-Timestamp`` and ``X-Paymentd-Signature``
(see :mod:`paymentd.gateways.signing`), the key again as ``Idempotency-Key``,
and optionally Basic or Bearer authorization; mutual TLS via a client cert.
"""

from __future__ import annotations

import base64
import json
import logging
import ssl
import time
from typing import Any

import aiohttp

from paymentd.gateways.codes import outcome_for_code
from paymentd.gateways.config import RestConfig
from paymentd.gateways.http import NoReply, NotSent, Reply, exchange
from paymentd.gateways.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from paymentd.payments import Approved, ChargeOutcome, ChargeRequest, Failed, Unknown

__all__ = ["RestGateway", "charge_payload"]

log = logging.getLogger(__name__)


def charge_payload(request: ChargeRequest) -> dict[str, Any]:
    """The Generic Pay Connector charge body for ``request`` (contains the card)."""
    card = request.card
    payload: dict[str, Any] = {
        "method": "charge",
        "transaction_id": request.idempotency_key,
        "cardnumber": card.number.reveal(),
        "amount": request.amount.decimal(),
        "currency_code": request.amount.currency,
        "description": request.reference or "",
        "parameters": {
            "attempt_id": request.attempt_id,
            "session_id": request.session_id,
            "account_id": request.account_id or "",
            "reference": request.reference or "",
            "mode": request.mode,
            "moto": "true" if request.moto else "false",
        },
    }
    if card.cvv is not None:
        payload["cvv"] = card.cvv.reveal()
    if card.expiry is not None:
        payload["expiry_month"] = f"{card.expiry.month:02d}"
        payload["expiry_year"] = str(card.expiry.year)
    if card.postal_code:
        payload["postal_code"] = card.postal_code
    return payload


def _ssl_context(config: RestConfig) -> ssl.SSLContext | None:
    if not (config.client_cert or config.ca_file):
        return None
    context = ssl.create_default_context(cafile=config.ca_file)
    if config.client_cert:
        context.load_cert_chain(config.client_cert, config.client_key)
    return context


def _outcome(data: object) -> ChargeOutcome:
    """Read a Generic Pay Connector response body."""
    if not isinstance(data, dict):
        return Unknown("the endpoint answered with JSON that is not an object")
    error_code, charge_id = data.get("error_code"), data.get("charge_id")
    if error_code not in (None, ""):
        return outcome_for_code(str(error_code))
    if isinstance(charge_id, str) and charge_id:
        return Approved(confirmation_code=charge_id, gateway_reference=charge_id)
    return Unknown("the endpoint answered with neither charge_id nor error_code")


class RestGateway:
    """POSTs signed Generic Pay Connector JSON to the merchant's endpoint."""

    name = "rest"

    def __init__(
        self, config: RestConfig, session: aiohttp.ClientSession, timeout_seconds: float
    ) -> None:
        if not config.url:
            raise ValueError("the REST gateway needs gateway.rest.url")
        self._config = config
        self._url = config.url
        self._lookup_url = config.lookup_url or config.url
        self._session = session
        self._timeout = timeout_seconds
        self._ssl = _ssl_context(config)

    def _headers(self, body: bytes, idempotency_key: str) -> dict[str, str]:
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Idempotency-Key": idempotency_key,
            TIMESTAMP_HEADER: str(timestamp),
        }
        if self._config.signing_secret:
            headers[SIGNATURE_HEADER] = sign(self._config.signing_secret, timestamp, body)
        if self._config.bearer_token:
            headers["Authorization"] = f"Bearer {self._config.bearer_token}"
        elif self._config.basic_username is not None:
            pair = f"{self._config.basic_username}:{self._config.basic_password or ''}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        return headers

    async def _post(self, url: str, payload: dict[str, Any], key: str) -> Reply | NotSent | NoReply:
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        return await exchange(
            self._session,
            "POST",
            url,
            timeout=self._timeout,
            headers=self._headers(body, key),
            body=body,
            ssl_context=self._ssl,
        )

    async def charge(self, request: ChargeRequest) -> ChargeOutcome:
        started = time.monotonic()
        reply = await self._post(self._url, charge_payload(request), request.idempotency_key)
        outcome = self._read(reply)
        log.info(
            "rest gateway answered",
            extra={
                "attempt_id": request.attempt_id,
                "outcome": type(outcome).__name__,
                "seconds": round(time.monotonic() - started, 3),
            },
        )
        return outcome

    async def lookup(self, idempotency_key: str) -> ChargeOutcome | None:
        payload = {"method": "lookup", "transaction_id": idempotency_key}
        reply = await self._post(self._lookup_url, payload, idempotency_key)
        if isinstance(reply, Reply) and reply.status == 404:
            return None
        outcome = self._read(reply)
        # A lookup that fails says nothing about the charge.
        return (
            Unknown(f"lookup failed: {outcome.detail}") if isinstance(outcome, Failed) else outcome
        )

    def _read(self, reply: Reply | NotSent | NoReply) -> ChargeOutcome:
        if isinstance(reply, NotSent):
            return Failed(retryable=True, detail=reply.detail)
        if isinstance(reply, NoReply):
            return Unknown(reply.detail)
        status = reply.status
        try:
            data = json.loads(reply.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            data = None
        if 200 <= status < 300:
            if data is None:
                return Unknown(f"HTTP {status} with a body that is not JSON")
            return _outcome(data)
        if status in (400, 402, 422) and isinstance(data, dict) and data.get("error_code"):
            return outcome_for_code(str(data["error_code"]))
        if status in (401, 403):
            return Failed(
                retryable=False, detail=f"HTTP {status}: credentials or signature refused"
            )
        if status in (429, 503):
            # "Too many requests" and "unavailable" mean the request was not processed.
            return Failed(retryable=True, detail=f"HTTP {status}")
        if status in (408, 409) or status >= 500:
            return Unknown(f"HTTP {status}")
        return Failed(retryable=False, detail=f"HTTP {status}")

    async def close(self) -> None:
        """The HTTP session is shared and closed by its owner."""
