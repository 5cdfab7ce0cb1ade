"""Bearer-token protection for HTTP routes (``Authorization: Bearer <token>``).

Shared by the HTTP APIs that read or move payments (reports; the agent API may
use it too).  Tokens are compared in constant time, every configured token is
tried (no early exit), and a refusal never says which part was wrong.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

__all__ = ["BearerTokens", "require_bearer"]

RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BearerTokens:
    """The tokens a route accepts."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self._tokens = [token.encode() for token in tokens]

    def __bool__(self) -> bool:
        return bool(self._tokens)

    def allows(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header value carries one of the tokens."""
        if not authorization:
            return False
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            return False
        offered = credential.strip().encode()
        matched = False
        for token in self._tokens:
            matched |= hmac.compare_digest(offered, token)
        return matched


def _refusal(status: int, message: str) -> web.Response:
    response = web.json_response({"error": message}, status=status)
    response.headers["WWW-Authenticate"] = 'Bearer realm="paymentd"'
    return response


def require_bearer(tokens: BearerTokens, handler: RouteHandler) -> RouteHandler:
    """``handler``, answering 401 unless the request carries one of ``tokens``.

    With no token configured every request is refused: such a route is off.
    """

    async def guarded(request: web.Request) -> web.StreamResponse:
        if not tokens:
            return _refusal(401, "this API is disabled: no token is configured")
        if not tokens.allows(request.headers.get("Authorization")):
            return _refusal(401, "a valid bearer token is required")
        return await handler(request)

    return guarded
