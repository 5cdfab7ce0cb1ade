"""What the simulator records about a call, for assertions and leak scans.

Times are wall-clock seconds since the simulator started (``at``/``started``),
the clock the test itself lives on.
"""

from __future__ import annotations

import attrs

__all__ = ["ActionRecord", "KeyRecord", "PromptRecord", "WireRecord"]


@attrs.define
class ActionRecord:
    """One application the channel executed.

    ``source`` is ``dialplan`` (an extension's action), ``sendmsg`` (sent by an
    ESL client) or ``api`` (``uuid_broadcast``).  ``response`` is the
    ``Application-Response`` once the app finished.
    """

    app: str
    data: str | None
    source: str
    started: float
    channel_uuid: str
    application_uuid: str
    response: str | None = None
    finished: float | None = None


@attrs.define
class PromptRecord:
    """One playback heard on the far end of a channel.

    ``status`` is ``playing`` while it runs, then ``done`` (played to the end),
    ``break`` (a terminator key, ``break`` or ``uuid_break``), ``hangup`` (the call
    went down during it) or ``not-found``.
    """

    file: str
    app: str
    channel_uuid: str
    started: float
    stopped: float | None = None
    status: str = "playing"


@attrs.frozen
class KeyRecord:
    """One key the caller pressed."""

    digit: str
    at: float


@attrs.frozen
class WireRecord:
    """One write on an ESL connection: ``recv`` = paymentd to FreeSWITCH, ``send`` = back."""

    at: float
    direction: str
    data: bytes
