"""Request signatures for the REST connector: HMAC-SHA256 over timestamp and body.

The client sends ``X-Paymentd-Timestamp: <unix seconds>`` and
``X-Paymentd-Signature: v1=<hex>``, where the hex digest is the HMAC-SHA256,
keyed with the shared secret, of ``<timestamp>.<raw body>``. A merchant
endpoint recomputes it with :func:`verify` and rejects a mismatch or a stale
timestamp (which stops replays). Kept free of I/O so endpoints can import it.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "sign", "verify"]

TIMESTAMP_HEADER = "X-Paymentd-Timestamp"
SIGNATURE_HEADER = "X-Paymentd-Signature"
_SCHEME = "v1="


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Paymentd-Signature`` value for ``body`` sent at ``timestamp``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return _SCHEME + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float,
    tolerance_seconds: float = 300.0,
) -> bool:
    """True if ``signature`` signs ``body`` and ``timestamp`` is within tolerance of ``now``."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)
