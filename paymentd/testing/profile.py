"""A channel's caller profile, written into events as FreeSWITCH writes it.

``switch_caller_profile_event_set_data`` leaves out every text field that is
empty (no ``Caller-Caller-ID-Name`` for a call without a name), writes the
eleven timestamps, then the three flags.  The same profile appears with the
prefix ``Caller`` in channel events, ``Channel`` at the head of the connect
reply and ``Other-Leg`` for the bridged or originating partner.
"""

from __future__ import annotations

import attrs

__all__ = ["CallerProfile", "Times"]

Headers = list[tuple[str, str]]


@attrs.define
class Times:
    """The profile's timetable, in microseconds since the epoch (0 = not yet)."""

    profile_created: int = 0
    created: int = 0
    answered: int = 0
    progress: int = 0
    progress_media: int = 0
    hungup: int = 0
    transferred: int = 0
    resurrected: int = 0
    bridged: int = 0
    last_hold: int = 0
    hold_accum: int = 0


# (header suffix, attribute); a text field is written only when it is not empty.
_TEXT_FIELDS = (
    ("Username", "username"),
    ("Dialplan", "dialplan"),
    ("Caller-ID-Name", "caller_id_name"),
    ("Caller-ID-Number", "caller_id_number"),
    ("Orig-Caller-ID-Name", "orig_caller_id_name"),
    ("Orig-Caller-ID-Number", "orig_caller_id_number"),
    ("Callee-ID-Name", "callee_id_name"),
    ("Callee-ID-Number", "callee_id_number"),
    ("Network-Addr", "network_addr"),
    ("ANI", "ani"),
    ("ANI-II", "aniii"),
    ("Destination-Number", "destination_number"),
    ("Unique-ID", "uuid"),
    ("Source", "source"),
    ("Transfer-Source", "transfer_source"),
    ("Context", "context"),
    ("RDNIS", "rdnis"),
    ("Channel-Name", "chan_name"),
    ("Profile-Index", "profile_index"),
)
_TIME_FIELDS = (
    ("Profile-Created-Time", "profile_created"),
    ("Channel-Created-Time", "created"),
    ("Channel-Answered-Time", "answered"),
    ("Channel-Progress-Time", "progress"),
    ("Channel-Progress-Media-Time", "progress_media"),
    ("Channel-Hangup-Time", "hungup"),
    ("Channel-Transfer-Time", "transferred"),
    ("Channel-Resurrect-Time", "resurrected"),
    ("Channel-Bridged-Time", "bridged"),
    ("Channel-Last-Hold", "last_hold"),
    ("Channel-Hold-Accum", "hold_accum"),
)


@attrs.define
class CallerProfile:
    """Who called whom, as the channel's current caller profile records it."""

    uuid: str
    chan_name: str
    destination_number: str
    direction: str = "inbound"
    logical_direction: str = "inbound"
    username: str = ""
    dialplan: str = "xml"
    caller_id_name: str = ""
    caller_id_number: str = "0000000000"
    callee_id_name: str = ""
    callee_id_number: str = ""
    network_addr: str = ""
    ani: str = "0000000000"
    aniii: str = ""
    source: str = "mod_loopback"
    transfer_source: str = ""
    context: str = "default"
    rdnis: str = ""
    profile_index: str = "1"
    screen: bool = True
    hide_name: bool = False
    hide_number: bool = False
    times: Times = attrs.Factory(Times)

    @property
    def orig_caller_id_name(self) -> str:
        """FreeSWITCH writes this only when there is a caller-ID name."""
        return self.caller_id_name

    @property
    def orig_caller_id_number(self) -> str:
        """The caller-ID number the call arrived with."""
        return self.caller_id_number

    def headers(self, prefix: str, *, index: bool = True) -> Headers:
        """The profile's headers under ``prefix`` (``Caller``, ``Channel``, ``Other-Leg``).

        The copy a partner keeps has no profile index (``index=False``).
        """
        out: Headers = [
            (f"{prefix}-Direction", self.direction),
            (f"{prefix}-Logical-Direction", self.logical_direction),
        ]
        for suffix, attribute in _TEXT_FIELDS:
            value = getattr(self, attribute)
            if suffix == "Orig-Caller-ID-Name" and not self.caller_id_name:
                continue
            if suffix == "Orig-Caller-ID-Number" and not self.caller_id_number:
                continue
            if suffix == "Profile-Index" and not index:
                continue
            if value:
                out.append((f"{prefix}-{suffix}", value))
        for suffix, attribute in _TIME_FIELDS:
            out.append((f"{prefix}-{suffix}", str(getattr(self.times, attribute))))
        out += [
            (f"{prefix}-Screen-Bit", "true" if self.screen else "false"),
            (f"{prefix}-Privacy-Hide-Name", "true" if self.hide_name else "false"),
            (f"{prefix}-Privacy-Hide-Number", "true" if self.hide_number else "false"),
        ]
        return out

    def clone_for_transfer(
        self, destination: str, dialplan: str, context: str, source: str
    ) -> CallerProfile:
        """The new profile a transfer gives the channel (index + 1, RDNIS = old number)."""
        return attrs.evolve(
            self,
            destination_number=destination,
            dialplan=dialplan,
            context=context,
            rdnis=self.destination_number,
            transfer_source=source,
            profile_index=str(int(self.profile_index) + 1),
            times=attrs.evolve(self.times),
        )
