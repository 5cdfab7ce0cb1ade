"""What the daemon's token-protected HTTP routes share: bearer tokens and error bodies.

The agent API and the reports check tokens the same way: the SHA-256 digest of
the presented token is compared in constant time with every configured one,
so neither the answer nor its timing says which token (or how much of one)
matched.  Errors are JSON ``{"error": {"code", "message"}}`` and never echo
what the client sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

from aiohttp import web

__all__ = ["BearerTokens", "error", "json_response"]


class BearerTokens:
    """The configured tokens, checked in constant time."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self._digests = [hashlib.sha256(t.encode()).digest() for t in tokens]

    def match(self, presented: str) -> int | None:
        """The index of the matching token (a stable, secret-free name for it), or None."""
        digest = hashlib.sha256(presented.encode("utf-8", "surrogatepass")).digest()
        found: int | None = None
        for index, known in enumerate(self._digests):
            # No early exit: every token is compared whatever matched before.
            if hmac.compare_digest(digest, known) and found is None:
                found = index
        return found


def error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    """The API's error body."""
    body = {"error": {"code": code, "message": message, **extra}}
    return json_response(body, status)


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=json.dumps(body),
        status=status,
        content_type="application/json",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )
