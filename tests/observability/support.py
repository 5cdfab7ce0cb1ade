"""Small helpers shared by the observability tests."""

from __future__ import annotations

from paymentd.metrics import Metrics

#: A minimal ``connect`` reply of an ``async full`` socket for the call ``u-1``.
CONNECT_REPLY = (
    b"Event-Name: CHANNEL_DATA\nUnique-ID: u-1\nContent-Type: command/reply\n"
    b"Reply-Text: %2BOK%0A\nSocket-Mode: async\nControl: full\n\n"
)
OK = b"Content-Type: command/reply\nReply-Text: +OK\n\n"


def value(metrics: Metrics, name: str, **labels: str) -> float:
    """A sample's value (0 for a series not created yet)."""
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found
