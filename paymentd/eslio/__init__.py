"""Thin asyncio layers over the socket-free ESL connection: they only move bytes,
keep time and match replies to waiters.

- :class:`OutboundServer` accepts FreeSWITCH's per-call connections (dialplan ``socket``).
- :class:`CallSession` is one such call.
- :class:`InboundClient` is paymentd's own connection to FreeSWITCH (agent mode).
"""

from paymentd.eslio.errors import (
    AuthenticationError,
    CallHungUp,
    CommandTimeout,
    ConnectionLost,
    NotConnected,
)
from paymentd.eslio.inbound import InboundClient
from paymentd.eslio.server import OutboundServer
from paymentd.eslio.session import CallSession
from paymentd.eslio.stream import EslStream, StreamObserver

__all__ = [
    "AuthenticationError",
    "CallHungUp",
    "CallSession",
    "CommandTimeout",
    "ConnectionLost",
    "EslStream",
    "InboundClient",
    "NotConnected",
    "OutboundServer",
    "StreamObserver",
]
