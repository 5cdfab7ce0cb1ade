"""The agent desktop API (documented in ``openapi/agent-api.json``).

``POST /v1/calls/{call_uuid}/payments``   start a secure payment on a bridged call
``GET  /v1/payments/{payment_id}``        its status and outcome
``GET  /v1/payments/{payment_id}/events`` masked progress as Server-Sent Events
``POST /v1/payments/{payment_id}/cancel`` cancel it

Every request needs ``Authorization: Bearer <token>`` with a token from
``agent.tokens``.  Tokens are compared by their SHA-256 digests with
:func:`hmac.compare_digest`, every configured token every time, so neither the
time taken nor the length says how close a guess was.  Refused requests are
counted (``paymentd_agent_api_refused_total``) and logged without the token.
Errors are JSON: ``{"error": {"code": "...", "message": "..."}}``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp_sse import sse_response

from paymentd.agent.legs import LegError
from paymentd.agent.payments import (
    AgentPayment,
    IdempotencyConflict,
    PaymentConflict,
    PaymentParameters,
)
from paymentd.agent.requests import InvalidRequest, check_call_uuid, parse_payment_request
from paymentd.httpauth import BearerTokens, error, json_response

if TYPE_CHECKING:
    from paymentd.agent.service import AgentService

__all__ = ["BearerTokens", "build_agent_app"]

log = logging.getLogger("paymentd.agent.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_SERVICE: web.AppKey[AgentService] = web.AppKey("agent_service")
_CALLER: web.RequestKey[int] = web.RequestKey("token_index", int)
_PAYMENT_ID = re.compile(r"^[0-9a-f-]{36}$")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

#: HTTP status of each :class:`LegError` code.
_LEG_STATUS = {
    "call_not_found": 404,
    "call_not_bridged": 409,
    "recording_not_maskable": 409,
    "freeswitch_refused": 502,
    "freeswitch_unavailable": 503,
}


def build_agent_app(service: AgentService) -> web.Application:
    """The aiohttp application of the agent API."""
    tokens = BearerTokens(service.config.tokens)

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        index = tokens.match(token.strip()) if scheme.lower() == "bearer" and token else None
        if index is None:
            reason = "invalid_token" if token else "missing_token"
            service.refused.labels(reason).inc()
            log.warning(
                "agent API: refused %s %s from %s (%s)",
                request.method,
                request.path,
                request.remote,
                reason,
            )
            response = error(401, reason, "a valid bearer token is required")
            response.headers["WWW-Authenticate"] = 'Bearer realm="paymentd"'
            return response
        request[_CALLER] = index
        try:
            return await handler(request)
        except web.HTTPException as exc:
            # The router's own 404/405 as JSON, like every other error.
            code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, "http_error")
            return error(exc.status, code, exc.reason)

    app = web.Application(client_max_size=16 * 1024, middlewares=[authenticate])
    app[_SERVICE] = service
    app.router.add_post("/v1/calls/{call_uuid}/payments", create_payment)
    app.router.add_get("/v1/payments/{payment_id}", get_payment)
    app.router.add_get("/v1/payments/{payment_id}/events", payment_events)
    app.router.add_post("/v1/payments/{payment_id}/cancel", cancel_payment)
    return app


async def create_payment(request: web.Request) -> web.StreamResponse:
    """Start a secure payment on the call (see the OpenAPI file)."""
    service = request.app[_SERVICE]
    key = request.headers.get("Idempotency-Key", "")
    if not _IDEMPOTENCY_KEY.match(key):
        return error(
            400,
            "idempotency_key_required",
            "an Idempotency-Key header (1-255 visible ASCII) is required",
        )
    try:
        call_uuid = check_call_uuid(request.match_info["call_uuid"])
        body = await _readjson_response(request)
        parameters = parse_payment_request(body, service.config, service.capture)
    except InvalidRequest as exc:
        return error(400, "invalid_request", str(exc), field=exc.field)
    registry = service.payments
    scope = str(request[_CALLER])
    fingerprint = hashlib.sha256(f"{call_uuid}\n{parameters.fingerprint()}".encode()).hexdigest()
    while True:
        try:
            earlier = registry.claim_key(scope, key, fingerprint)
        except IdempotencyConflict:
            return error(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request",
            )
        if earlier is None:
            break
        replayed = await asyncio.shield(earlier)
        if replayed is not None:
            return json_response(
                replayed.as_json(),
                201,
                {"Location": f"/v1/payments/{replayed.id}", "Idempotent-Replayed": "true"},
            )
        # The first request with this key made no payment and freed the key: try anew.
    # The move runs to its end even if the desktop goes away: a half-moved call is worse.
    task = asyncio.create_task(_start(service, scope, key, call_uuid, parameters))
    try:
        payment = await asyncio.shield(task)
    except LegError as exc:
        return error(_LEG_STATUS.get(exc.code, 502), exc.code, str(exc))
    except PaymentConflict as exc:
        return error(409, "payment_in_progress", str(exc), payment_id=exc.payment_id)
    return json_response(payment.as_json(), 201, {"Location": f"/v1/payments/{payment.id}"})


async def _start(
    service: AgentService, scope: str, key: str, call_uuid: str, parameters: PaymentParameters
) -> AgentPayment:
    payment: AgentPayment | None = None
    try:
        payment = await service.start_payment(call_uuid, parameters)
    finally:
        service.payments.settle_key(scope, key, payment)
    return payment


async def _readjson_response(request: web.Request) -> object:
    if request.content_type != "application/json":
        raise InvalidRequest("body", "must be application/json")
    try:
        return await request.json()
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("body", "is not valid JSON") from None


def _payment(request: web.Request) -> AgentPayment | None:
    payment_id = request.match_info["payment_id"]
    if not _PAYMENT_ID.match(payment_id):
        return None
    return request.app[_SERVICE].payments.get(payment_id)


def _not_found() -> web.Response:
    return error(404, "payment_not_found", "no such payment")


async def get_payment(request: web.Request) -> web.StreamResponse:
    """The payment's status and outcome."""
    payment = _payment(request)
    if payment is None:
        return _not_found()
    return json_response(payment.as_json())


async def payment_events(request: web.Request) -> web.StreamResponse:
    """The payment's events as Server-Sent Events; ``Last-Event-ID`` resumes a stream."""
    payment = _payment(request)
    if payment is None:
        return _not_found()
    last = request.headers.get("Last-Event-ID", "")
    after = int(last) if last.isdigit() else 0
    service = request.app[_SERVICE]
    async with sse_response(
        request,
        ping_interval=service.config.sse_ping_seconds,
        headers={"Cache-Control": "no-store"},
    ) as stream:
        async for event in payment.follow(after, until=service.closing):
            await stream.send(event.json(), id=str(event.sequence), event=event.name)
    return stream


async def cancel_payment(request: web.Request) -> web.StreamResponse:
    """Cancel: the customer hears that the payment is cancelled and goes back to the agent.
    A charge already sent is not called back: its answer decides the outcome."""
    payment = _payment(request)
    if payment is None:
        return _not_found()
    if not request.app[_SERVICE].cancel(payment):
        return error(409, "payment_finished", "the payment can no longer be cancelled")
    return json_response(payment.as_json(), 202)
