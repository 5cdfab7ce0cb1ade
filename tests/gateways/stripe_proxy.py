"""A recording proxy in front of localstripe that fills two of its gaps, openly.

Everything is forwarded to the real localstripe server, and every request is
recorded (so tests can see the exact form, headers and order we send). Two
things localstripe does not do are emulated here, each behind a switch:

* ``emulate_declines``: localstripe approves Stripe's decline test cards (it only
  declines them when attached to a customer). Stripe declines them when the
  PaymentIntent is confirmed, with a 402 card error whose body is reproduced
  from Stripe's documentation; the proxy answers so for those cards.
* ``search``: localstripe has no ``/v1/payment_intents/search``. With the switch
  on, the proxy answers metadata searches from localstripe's list.

``delay_intents`` answers PaymentIntent creation late (after localstripe has
made the charge), to exercise timeouts followed by a lookup.  ``stale_search``
makes search answer with an older copy of each PaymentIntent (in this status), as
Stripe's search may for up to a minute.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import attrs
from aiohttp import web

# Stripe's test cards that decline on confirmation, and the error Stripe returns.
DECLINES = {
    "4000000000000002": ("card_declined", "generic_decline"),
    "4000000000009995": ("card_declined", "insufficient_funds"),
    "4000000000000069": ("expired_card", "expired_card"),
    "4000000000000127": ("incorrect_cvc", "incorrect_cvc"),
    "4000000000000119": ("processing_error", "processing_error"),
}
_SEARCH = re.compile(r"metadata\['([^']+)'\]:'([^']*)'")


@attrs.frozen
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@attrs.define
class StripeProxy:
    upstream: str
    session: aiohttp.ClientSession
    emulate_declines: bool = True
    search: bool = False
    delay_intents: float = 0.0
    stale_search: str | None = None
    #: Called with each request before it is forwarded.
    on_request: Callable[[Recorded], Awaitable[None]] | None = None
    requests: list[Recorded] = attrs.Factory(list)
    _cards: dict[str, str] = attrs.Factory(dict)
    url: str = ""

    def paths(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests]

    async def _forward(self, request: web.Request, body: bytes) -> tuple[int, Any]:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host",)}
        async with self.session.request(
            request.method, self.upstream + request.path_qs, data=body or None, headers=headers
        ) as response:
            return response.status, await response.json(content_type=None)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        form = dict(await request.post()) if body else {}
        recorded = Recorded(
            request.method,
            request.path,
            dict(request.headers),
            {k: str(v) for k, v in form.items()},
        )
        self.requests.append(recorded)
        if self.on_request is not None:
            await self.on_request(recorded)
        if request.path == "/v1/payment_intents/search" and self.search:
            return await self._search(request)
        if request.path == "/v1/payment_intents" and request.method == "POST":
            card = self._cards.get(str(form.get("payment_method")))
            if self.emulate_declines and card in DECLINES:
                return self._decline(*DECLINES[card])
        status, data = await self._forward(request, body)
        if request.path == "/v1/payment_methods" and status == 200:
            self._cards[data["id"]] = str(form.get("card[number]"))
        if request.path == "/v1/payment_intents" and request.method == "POST":
            await asyncio.sleep(self.delay_intents)
        return web.json_response(data, status=status)

    @staticmethod
    def _decline(code: str, decline_code: str) -> web.Response:
        error = {
            "type": "card_error",
            "code": code,
            "decline_code": decline_code,
            "message": "Your card was declined.",
            "payment_intent": {"object": "payment_intent", "status": "requires_payment_method"},
        }
        return web.json_response({"error": error}, status=402)

    async def _search(self, request: web.Request) -> web.Response:
        match = _SEARCH.fullmatch(request.query.get("query", ""))
        if match is None:
            return web.json_response({"error": {"type": "invalid_request_error"}}, status=400)
        key, value = match.groups()
        found: list[dict[str, Any]] = []
        after = None
        while True:
            query = "?limit=100" + (f"&starting_after={after}" if after else "")
            async with self.session.get(
                self.upstream + "/v1/payment_intents" + query,
                headers={"Authorization": request.headers["Authorization"]},
            ) as response:
                page = await response.json()
            found += [i for i in page["data"] if i["metadata"].get(key) == value]
            if self.stale_search is not None:
                found = [{**i, "status": self.stale_search} for i in found]
            if not page["has_more"]:
                break
            after = page["data"][-1]["id"]
        return web.json_response({"object": "search_result", "data": found, "has_more": False})

    async def start(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        return runner
