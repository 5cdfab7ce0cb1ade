"""One HTTP exchange with a gateway, classified by what it proves about the charge.

The distinction that matters for charging exactly once: a request that surely
never reached the gateway (connection refused, TLS handshake failed, connect
timeout) cannot have charged anything, while a request that got no reply
(timeout after sending, connection dropped) may have. Exceptions are reduced
to their type: aiohttp's messages include URLs and, from some servers, text we
do not control, and none of that belongs in an outcome.
"""

from __future__ import annotations

import ssl

import aiohttp
import attrs

__all__ = ["NoReply", "NotSent", "Reply", "exchange"]


@attrs.frozen
class Reply:
    status: int
    body: bytes


@attrs.frozen
class NotSent:
    """The request never reached the gateway: nothing can have been charged."""

    detail: str


@attrs.frozen
class NoReply:
    """The request may have reached the gateway, but no reply came back."""

    detail: str


async def exchange(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    timeout: float,
    headers: dict[str, str],
    body: bytes | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> Reply | NotSent | NoReply:
    """Send one request; never raises for network trouble."""
    try:
        async with session.request(
            method,
            url,
            data=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
            ssl=ssl_context if ssl_context is not None else True,
        ) as response:
            return Reply(response.status, await response.read())
    except aiohttp.ConnectionTimeoutError:
        return NotSent(f"could not connect within {timeout:g} s")
    except aiohttp.ClientSSLError as exc:
        return NotSent(f"TLS handshake failed ({type(exc).__name__})")
    except aiohttp.ClientConnectorError as exc:
        return NotSent(f"could not connect ({type(exc).__name__})")
    except TimeoutError:
        return NoReply(f"no reply within {timeout:g} s")
    except aiohttp.ClientError as exc:
        return NoReply(f"the connection failed ({type(exc).__name__})")
