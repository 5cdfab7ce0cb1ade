"""A simulated channel: state, caller profile, variables, and its events.

Modelled on ``switch_channel.c``.  What matters for fidelity:

* Variables keep insertion order and setting one again moves it to the end
  (channel variables are a unique-header event in FreeSWITCH); an empty value
  deletes it.  Every later event of an "extended" type carries them all.
* ``Channel-State`` is the running state, ``Channel-State-Number`` the requested
  one: during a hang-up they differ (``CS_EXECUTE`` / ``10``).
* ``Answer-State`` is ``hangup`` once the channel is going down, then
  ``answered``, ``early`` or ``ringing``; ``Hangup-Cause`` follows it once set.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Mapping

import attrs

from paymentd.testing.events import EventFactory, FsEvent
from paymentd.testing.profile import CallerProfile

__all__ = ["CallState", "Channel", "ChannelState", "Dtmf", "Headers"]

Headers = list[tuple[str, str]]


class ChannelState(enum.IntEnum):
    """``switch_channel_state_t``, numbered as FreeSWITCH numbers it."""

    CS_NEW = 0
    CS_INIT = 1
    CS_ROUTING = 2
    CS_SOFT_EXECUTE = 3
    CS_EXECUTE = 4
    CS_EXCHANGE_MEDIA = 5
    CS_PARK = 6
    CS_CONSUME_MEDIA = 7
    CS_HIBERNATE = 8
    CS_RESET = 9
    CS_HANGUP = 10
    CS_REPORTING = 11
    CS_DESTROY = 12


class CallState(enum.IntEnum):
    """``switch_channel_callstate_t``."""

    DOWN = 0
    DIALING = 1
    RINGING = 2
    EARLY = 3
    ACTIVE = 4
    HELD = 5
    RING_WAIT = 6
    HANGUP = 7
    UNHELD = 8


@attrs.frozen
class Dtmf:
    """One queued key: the digit, its duration in samples, and its source."""

    digit: str
    duration: int = 2000
    source: str = "UNKNOWN"
    sensitive: bool = False


# Every loopback leg in the captures runs signed linear 16-bit at 8 kHz.
_CODEC = ("L16", "8000", "128000")


@attrs.define(eq=False)
class Channel:
    """State of one FreeSWITCH channel; the session task drives it."""

    uuid: str
    name: str
    profile: CallerProfile
    factory: EventFactory
    direction: str = "inbound"
    session_id: int = 0
    state: ChannelState = ChannelState.CS_NEW
    running_state: ChannelState = ChannelState.CS_NEW
    callstate: CallState = CallState.DOWN
    answered: bool = False
    early_media: bool = False
    hangup_cause: str | None = None
    other_profile: CallerProfile | None = None
    other_type: str | None = None
    variables: dict[str, str] = attrs.Factory(dict)
    # Flags of the same names in FreeSWITCH.
    divert_events: bool = False
    controlled: bool = False
    parked: bool = False
    break_flag: int = 0
    stop_broadcast: bool = False
    event_lock: bool = False
    transfer_to: tuple[str, str, str] | None = None
    soft_bridge: str | None = None
    # Queues of the session: keys not yet read by an app, the keys read so far
    # (for digits_dialed), sendmsg packets, and events queued to the session.
    dtmf_queue: deque[Dtmf] = attrs.Factory(deque)
    dtmf_log: list[Dtmf] = attrs.Factory(list)
    session_events: deque[FsEvent] = attrs.Factory(deque)

    # -- variables ---------------------------------------------------------------

    def set_variable(self, name: str, value: str | None) -> None:
        """Set (moving it last) or, with an empty value, delete a variable."""
        if not name:
            return
        self.variables.pop(name, None)
        if value:
            self.variables[name] = value

    def push_variable(self, name: str, value: str) -> None:
        """Append to a variable in place, as an ``ARRAY::a|:b`` value (``transfer_history``)."""
        old = self.variables.get(name)
        if old is None:
            self.variables[name] = value
        else:
            self.variables[name] = (
                old if old.startswith("ARRAY::") else f"ARRAY::{old}"
            ) + f"|:{value}"

    def get_variable(self, name: str) -> str | None:
        """A variable's value, or ``None`` when unset."""
        return self.variables.get(name)

    def variable_true(self, name: str) -> bool:
        """FreeSWITCH's ``switch_true`` of a variable."""
        return is_true(self.variables.get(name))

    # -- state -------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """``switch_channel_ready``: up, not hanging up, not being transferred away."""
        return self.state < ChannelState.CS_HANGUP and self.hangup_cause is None

    @property
    def down(self) -> bool:
        """The channel is hanging up or gone."""
        return self.state >= ChannelState.CS_HANGUP or self.hangup_cause is not None

    @property
    def leaving(self) -> bool:
        """A transfer or a ``uuid_bridge`` is taking the channel out of its current app."""
        return self.transfer_to is not None or self.soft_bridge is not None

    @property
    def media_ready(self) -> bool:
        """Answered or pre-answered: media flows and the session reads frames."""
        return self.answered or self.early_media

    @property
    def answer_state(self) -> str:
        """The ``Answer-State`` header."""
        if self.down:
            return "hangup"
        if self.answered:
            return "answered"
        if self.early_media:
            return "early"
        return "ringing"

    # -- event composition ---------------------------------------------------------

    def basic_headers(self) -> Headers:
        """``switch_channel_event_set_basic_data``: state, codecs, profiles."""
        headers: Headers = [
            ("Channel-State", self.running_state.name),
            ("Channel-Call-State", self.callstate.name),
            ("Channel-State-Number", str(int(self.state))),
            ("Channel-Name", self.name),
            ("Unique-ID", self.uuid),
            ("Call-Direction", self.direction),
            ("Presence-Call-Direction", self.direction),
            ("Channel-HIT-Dialplan", "true" if self.direction == "inbound" else "false"),
        ]
        presence = self.variables.get("presence_id")
        if presence:
            headers.append(("Channel-Presence-ID", presence))
        headers.append(("Channel-Call-UUID", self.variables.get("call_uuid") or self.uuid))
        headers.append(("Answer-State", self.answer_state))
        if self.hangup_cause:
            headers.append(("Hangup-Cause", self.hangup_cause))
        name, rate, bits = _CODEC
        headers += [
            ("Channel-Read-Codec-Name", name),
            ("Channel-Read-Codec-Rate", rate),
            ("Channel-Read-Codec-Bit-Rate", bits),
            ("Channel-Write-Codec-Name", name),
            ("Channel-Write-Codec-Rate", rate),
            ("Channel-Write-Codec-Bit-Rate", bits),
        ]
        headers += self.profile.headers("Caller")
        if self.other_profile is not None and self.other_type is not None:
            headers.append(("Other-Type", self.other_type))
            headers += self.other_profile.headers("Other-Leg", index=False)
        return headers

    def variable_headers(self) -> Headers:
        """Every variable as ``variable_<name>``, in channel order."""
        return [(f"variable_{name}", value) for name, value in self.variables.items()]

    def event(
        self,
        name: str,
        fields: Mapping[str, str | None] | None = None,
        *,
        body: str | None = None,
        packet: Headers | None = None,
        variant: str | None = None,
    ) -> FsEvent:
        """An event about this channel, composed in FreeSWITCH's order."""
        return self.factory.build(
            name,
            channel=self.basic_headers,
            variables=self.variable_headers,
            profile=lambda: self.profile.headers("Channel"),
            fields=fields,
            body=body,
            packet=packet,
            variant=variant,
        )


def is_true(value: str | None) -> bool:
    """``switch_true``: yes, on, true, t, enabled, active, allow, or a non-zero number."""
    if not value:
        return False
    lowered = value.strip().lower()
    if lowered in ("yes", "on", "true", "t", "enabled", "active", "allow"):
        return True
    try:
        return int(lowered) != 0
    except ValueError:
        return False
