"""The ``[agent]`` section: the agent-desktop API and how legs are moved.

Agent mode runs when ``[inbound] enabled = true`` (paymentd needs its own
connection to FreeSWITCH to move legs).  Example::

    [agent]
    listen = "0.0.0.0:8443"
    tokens = ["<a long random token per desktop integration>"]
    tls_cert = "/etc/paymentd/agent.crt"     # both or neither: HTTPS
    tls_key = "/etc/paymentd/agent.key"
    secure_extension = "paymentd_secure"    # runs the socket app (freeswitch-conf/)
    secure_context = "default"
    after_extension = "paymentd_secure_after"
    default_mode = "detach"                 # or "mute"
    modes = ["detach", "mute"]
    hold_audio = "/usr/share/paymentd/sounds/music/8000/paymentd_hold.wav"
"""

from __future__ import annotations

import enum
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from paymentd.settings import InvalidSetting, check_tokens, positive

if TYPE_CHECKING:
    from paymentd.config import ListenAddress

__all__ = ["AgentConfig", "LegMode"]

#: Shorter bearer tokens are too easy to guess.

_DIALPLAN_WORD = re.compile(r"^[A-Za-z0-9_.+@-]+$")
#: What switch_is_file_path takes as it is (after any ``{var=value}`` prefixes): a path
#: from ``/`` or a URL.
_FILE_PATH = re.compile(r"^(?:\{[^{}]*\})*(?:/|.*://)")
#: ``mute_level`` values that are comfort noise: from FreeSWITCH's own comfort-noise divisor
#: (``bridge_generate_comfort_noise=true``, ``record_fill_cng=true``) to the last one that is
#: not all zeros.
_COMFORT_NOISE_LEVELS = (1400, 32768)


def _parse_listen(text: str) -> ListenAddress:
    from paymentd.config import ListenAddress as _ListenAddress

    return _ListenAddress.parse(text)


def _check_listen(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    try:
        _parse_listen(value)
    except ValueError as exc:
        raise InvalidSetting(attribute.name, str(exc)) from None


class LegMode(enum.StrEnum):
    """How the agent is kept out of the capture.

    ``detach``: the customer is moved to paymentd and the agent parked with hold
    audio. ``mute``: the agent stays on the call but hears nothing (no voice, no
    keys, no prompt) until the capture ends.
    """

    DETACH = "detach"
    MUTE = "mute"


def _check_word(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    # These travel inside api commands: one word, no spaces or control characters.
    if not _DIALPLAN_WORD.match(value):
        raise InvalidSetting(attribute.name, f"must be one dialplan word, got {value!r}")


def _check_modes(_inst: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    if not value:
        raise InvalidSetting(attribute.name, "must allow at least one mode")
    for mode in value:
        if mode not in LegMode.__members__.values():
            raise InvalidSetting(
                attribute.name, f"unknown mode {mode!r}; choose from {', '.join(LegMode)}"
            )


def _check_audio(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if any(c.isspace() or not c.isprintable() for c in value):
        raise InvalidSetting(attribute.name, f"must not contain spaces: {value!r}")
    # FreeSWITCH puts a relative name under sound_prefix and reports that resolved path in
    # PLAYBACK_STOP, which paymentd matches to play the hold audio again.
    if value and not _FILE_PATH.match(value):
        raise InvalidSetting(
            attribute.name,
            f"must be an absolute path or a URL such as local_stream://moh, got {value!r}",
        )


def _check_mute_level(_inst: object, attribute: attrs.Attribute[Any], value: int) -> None:
    # switch_generate_sln_silence: each sample is a full-scale 16-bit random value divided by
    # the level (2: about -11 dBFS; 1400: peaks at about -63 dBFS).  Above 32768 every sample
    # is 0, which 1 does already; far above, uuid_audio's atoi wraps to a small, loud level.
    low, high = _COMFORT_NOISE_LEVELS
    if value != 1 and not low <= value <= high:
        raise InvalidSetting(
            attribute.name,
            f"must be 1 (silence) or {low} to {high} (comfort noise; a lower level is louder), "
            f"got {value!r}",
        )


@attrs.frozen
class AgentConfig:
    """Agent-assisted payments: the desktop API and the leg moves (section ``[agent]``)."""

    #: The agent API's own listener (kept apart from ``/healthz`` and ``/metrics``: it
    #: faces desktops across the network, with tokens and TLS).
    listen: str = attrs.field(default="127.0.0.1:8090", validator=_check_listen)
    #: Bearer tokens accepted by the API (``Authorization: Bearer <token>``).
    tokens: tuple[str, ...] = attrs.field(default=(), validator=check_tokens, repr=False)
    #: PEM certificate chain and private key: both set, the API speaks HTTPS only.
    tls_cert: str = ""
    tls_key: str = ""
    #: The extension that runs ``socket`` for agent-started payments, and its context.
    secure_extension: str = attrs.field(default="paymentd_secure", validator=_check_word)
    secure_context: str = attrs.field(default="default", validator=_check_word)
    #: What the secure extension does after ``socket`` (branching on ``paymentd_result``).
    #: A customer whose route says ``resume`` after the secure extension was already left
    #: (mute mode re-bridges it) is transferred here instead.
    after_extension: str = attrs.field(default="paymentd_secure_after", validator=_check_word)
    #: The mode of a request that names none: ``detach`` or ``mute``.
    default_mode: str = attrs.field(default=LegMode.DETACH.value)
    #: The modes a request may ask for.
    modes: tuple[str, ...] = attrs.field(
        default=(LegMode.DETACH.value, LegMode.MUTE.value), validator=_check_modes
    )
    #: What the parked agent hears in detach mode: a file by its absolute path (or
    #: ``local_stream://...``) played with ``uuid_broadcast`` and started again each time it
    #: ends, until the customer is back (FreeSWITCH reports the end with the path it resolved,
    #: which paymentd must recognise). Empty: paymentd's hold music from its sounds directory.
    hold_audio: str = attrs.field(default="", validator=_check_audio)
    #: ``uuid_audio ... mute <level>`` in mute mode: what the agent hears instead of the
    #: customer. 1 is silence. Above 1 FreeSWITCH plays full-scale random noise divided by the
    #: level: 2 is loud white noise, and the noise gets quieter as the level rises. Comfort
    #: noise is therefore 1400 (FreeSWITCH's own comfort-noise level, about -63 dBFS) to 32768.
    mute_level: int = attrs.field(default=1, validator=_check_mute_level)
    #: Mask every recording running on either leg while card data is keyed.
    mask_recordings: bool = True
    #: Seconds to wait for the customer to reach the secure extension before the move
    #: is undone.
    arrival_timeout: float = attrs.field(default=10.0, validator=positive)
    #: Seconds a finished payment stays readable (status and event stream) in memory;
    #: the ledger keeps the durable record.
    retention_seconds: float = attrs.field(default=3600.0, validator=positive)
    #: Seconds an ``Idempotency-Key`` is remembered.
    idempotency_seconds: float = attrs.field(default=86400.0, validator=positive)
    #: Seconds between SSE keep-alive comments.
    sse_ping_seconds: float = attrs.field(default=15.0, validator=positive)

    def __attrs_post_init__(self) -> None:
        if bool(self.tls_cert) != bool(self.tls_key):
            raise InvalidSetting("tls_cert", "tls_cert and tls_key go together")
        if self.default_mode not in self.modes:
            raise InvalidSetting("default_mode", f"{self.default_mode!r} is not in modes")

    @property
    def address(self) -> ListenAddress:
        """``listen`` parsed."""
        return _parse_listen(self.listen)

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert)

    def problems(self) -> list[str]:
        """What stops agent mode from starting, found without starting it."""
        found = []
        if not self.tokens:
            found.append("agent.tokens: agent mode needs at least one API token")
        for key in ("tls_cert", "tls_key"):
            path = getattr(self, key)
            if path and not Path(path).is_file():
                found.append(f"agent.{key}: no such file: {path}")
        return found
