"""A merchant payment endpoint for the REST connector's tests: a real aiohttp server.

It speaks the Generic Pay Connector's JSON as a real endpoint would: it checks
the HMAC signature and the credentials, treats ``transaction_id`` as an
idempotency key (a replay returns the first answer, never a second charge),
answers lookups, and decides by the published test cards. Knobs make it slow,
make it fail with a status, or garble its answer, to exercise every path.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from aiohttp import web

from paymentd.gateways.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

SECRET = "test-signing-secret"

#: What the endpoint answers for the test cards (Stripe-style codes, as endpoints use).
ERRORS = {
    "4000000000000002": "card_declined",
    "4000000000000127": "incorrect_cvc",
    "4000000000000069": "expired_card",
    "4000000000009995": "insufficient_funds",
    "4000000000000119": "processing_error",
    "4000000000000101": "do_not_honor",
    "4000000000000200": "invalid_number",
    "4000000000000309": "card_not_supported",
    "4100000000000019": "fraudulent",
}


@attrs.define
class Processor:
    secret: str | None = SECRET
    #: ("basic", user, password) or ("bearer", token) or None.
    auth: tuple[str, ...] | None = None
    #: Seconds to wait before answering a charge (it is decided and recorded first).
    delay: float = 0.0
    #: Answer charges with this status (after deciding and recording) instead of 200.
    status: int | None = None
    #: Charges are refused with this status *before* anything is recorded.
    refuse_status: int | None = None
    #: Answer charges with a body that is not JSON (after recording).
    garble: bool = False
    #: Called with the decoded body of each charge before it is decided.
    on_charge: Callable[[dict[str, Any]], Awaitable[None]] | None = None
    answers: dict[str, dict[str, Any]] = attrs.Factory(dict)
    #: transaction_id of every charge actually made (an approval), in order.
    charged: list[str] = attrs.Factory(list)
    requests: list[dict[str, Any]] = attrs.Factory(list)
    rejected: int = 0
    received: asyncio.Event = attrs.Factory(asyncio.Event)
    url: str = ""

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization")
        if self.auth is None:
            return True
        if self.auth[0] == "bearer":
            return header == f"Bearer {self.auth[1]}"
        pair = f"{self.auth[1]}:{self.auth[2]}".encode()
        return header == "Basic " + base64.b64encode(pair).decode()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if not self._authorised(request):
            self.rejected += 1
            return web.json_response({"error": "unauthorised"}, status=401)
        if self.secret is not None and not verify(
            self.secret,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            body,
            now=time.time(),
        ):
            self.rejected += 1
            return web.json_response({"error": "bad signature"}, status=401)
        try:
            data = json.loads(body)
        except json.JSONDecodeError:
            return web.json_response({"error": "bad json"}, status=400)
        key = data.get("transaction_id")
        if data.get("method") == "lookup":
            if key not in self.answers:
                return web.json_response({"error": "no such transaction"}, status=404)
            return web.json_response(self.answers[key])
        self.requests.append(data)
        self.received.set()
        if self.refuse_status is not None:
            return web.json_response({"error": "refused"}, status=self.refuse_status)
        if self.on_charge is not None:
            await self.on_charge(data)
        if key not in self.answers:
            error = ERRORS.get(data.get("cardnumber", ""))
            if error is None:
                self.charged.append(key)
                self.answers[key] = {
                    "charge_id": f"ch_{uuid.uuid4().hex[:16]}",
                    "error_code": None,
                    "error_message": None,
                }
            else:
                self.answers[key] = {
                    "charge_id": None,
                    "error_code": error,
                    # Free text an endpoint might send, card number included: never read.
                    "error_message": f"declined card {data.get('cardnumber')}",
                }
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.garble:
            return web.Response(text="<html>oops", content_type="application/json")
        return web.json_response(self.answers[key], status=self.status or 200)

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/pay", self.handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        port = runner.addresses[0][1]
        scheme = "https" if ssl_context else "http"
        self.url = f"{scheme}://127.0.0.1:{port}/pay"
        return runner
