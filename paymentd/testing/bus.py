"""The global event bus: every event the simulated FreeSWITCH fires.

FreeSWITCH hands each fired event to every event-socket listener, which keeps
it if its subscription matches.  The bus does the same for the simulator's
listeners and also keeps the whole history, so a test can ask what any other
ESL client *would* have received (``received_by(Subscription.parse("ALL"))``)
and scan it for card data.  Events that never reach the bus are as invisible
here as in FreeSWITCH: DTMF diverted to a socket (``divert_events on``) and
keys under ``sensitive_dtmf``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import attrs

from paymentd.testing.clock import SimClock
from paymentd.testing.events import FsEvent

__all__ = ["EVENT_NAMES", "EventBus", "FiredEvent", "Subscriber", "Subscription"]

# The event names ``event plain ...`` accepts (``switch_event_types_t``); any
# other word answers "-ERR no keywords supplied" when it is the only one.
EVENT_NAMES = frozenset(
    (
        "CUSTOM",
        "CLONE",
        "CHANNEL_CREATE",
        "CHANNEL_DESTROY",
        "CHANNEL_STATE",
        "CHANNEL_CALLSTATE",
        "CHANNEL_ANSWER",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HOLD",
        "CHANNEL_UNHOLD",
        "CHANNEL_BRIDGE",
        "CHANNEL_UNBRIDGE",
        "CHANNEL_PROGRESS",
        "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_OUTGOING",
        "CHANNEL_PARK",
        "CHANNEL_UNPARK",
        "CHANNEL_APPLICATION",
        "CHANNEL_ORIGINATE",
        "CHANNEL_UUID",
        "API",
        "LOG",
        "INBOUND_CHAN",
        "OUTBOUND_CHAN",
        "STARTUP",
        "SHUTDOWN",
        "PUBLISH",
        "UNPUBLISH",
        "TALK",
        "NOTALK",
        "SESSION_CRASH",
        "MODULE_LOAD",
        "MODULE_UNLOAD",
        "DTMF",
        "MESSAGE",
        "PRESENCE_IN",
        "NOTIFY_IN",
        "PRESENCE_OUT",
        "PRESENCE_PROBE",
        "MESSAGE_WAITING",
        "MESSAGE_QUERY",
        "ROSTER",
        "CODEC",
        "BACKGROUND_JOB",
        "DETECTED_SPEECH",
        "DETECTED_TONE",
        "PRIVATE_COMMAND",
        "HEARTBEAT",
        "TRAP",
        "ADD_SCHEDULE",
        "DEL_SCHEDULE",
        "EXE_SCHEDULE",
        "RE_SCHEDULE",
        "RELOADXML",
        "NOTIFY",
        "PHONE_FEATURE",
        "PHONE_FEATURE_SUBSCRIBE",
        "SEND_MESSAGE",
        "RECV_MESSAGE",
        "REQUEST_PARAMS",
        "CHANNEL_DATA",
        "GENERAL",
        "COMMAND",
        "SESSION_HEARTBEAT",
        "CLIENT_DISCONNECTED",
        "SERVER_DISCONNECTED",
        "SEND_INFO",
        "RECV_INFO",
        "RECV_RTCP_MESSAGE",
        "SEND_RTCP_MESSAGE",
        "CALL_SECURE",
        "NAT",
        "RECORD_START",
        "RECORD_STOP",
        "PLAYBACK_START",
        "PLAYBACK_STOP",
        "CALL_UPDATE",
        "FAILURE",
        "SOCKET_DATA",
        "MEDIA_BUG_START",
        "MEDIA_BUG_STOP",
        "CONFERENCE_DATA_QUERY",
        "CONFERENCE_DATA",
        "CALL_SETUP_REQ",
        "CALL_SETUP_RESULT",
        "CALL_DETAIL",
        "DEVICE_STATE",
        "TEXT",
        "SHUTDOWN_REQUESTED",
        "ALL",
    )
)


@attrs.define
class Subscription:
    """What an ``event <format> NAME ...`` listener has asked for."""

    names: set[str] = attrs.Factory(set)
    subclasses: set[str] = attrs.Factory(set)

    @classmethod
    def parse(cls, spec: str) -> Subscription:
        """``"ALL"``, ``"DTMF CHANNEL_EXECUTE_COMPLETE"``, ``"CUSTOM paymentd::segment"``."""
        sub = cls()
        sub.add_words(spec.split())
        return sub

    def add_words(self, words: Iterable[str]) -> int:
        """Add event names as ``event`` does; returns how many were known names."""
        known = 0
        custom = False
        for word in words:
            if custom:
                self.subclasses.add(word)
            elif word.upper() in EVENT_NAMES:
                known += 1
                self.names.add(word.upper())
                custom = custom or word.upper() == "CUSTOM"
        return known

    def matches(self, event: FsEvent) -> bool:
        """``event_handler``'s first test: is this event type wanted at all?"""
        if "ALL" in self.names:
            return True
        if event.name not in self.names:
            return False
        return event.name != "CUSTOM" or not event.subclass or event.subclass in self.subclasses


class Subscriber(Protocol):
    """Anything the bus delivers events to (the simulated ESL listeners)."""

    def offer(self, event: FsEvent) -> None:
        """Take the event if the subscription and filters want it."""


@attrs.frozen
class FiredEvent:
    """An event as fired, with the simulated and the wall-clock time."""

    at: float
    real_at: float
    event: FsEvent


class EventBus:
    """Fires events to listeners and remembers every one."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.history: list[FiredEvent] = []
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        """Start delivering to a listener."""
        self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop delivering to a listener."""
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)

    def fire(self, event: FsEvent) -> None:
        """Record the event and offer it to every listener."""
        self.history.append(FiredEvent(self.clock.now(), self.clock.real_now(), event))
        for subscriber in list(self._subscribers):
            subscriber.offer(event)

    def received_by(self, subscription: Subscription | str = "ALL") -> list[FsEvent]:
        """What a listener with this subscription (and no filter) would have received."""
        if isinstance(subscription, str):
            subscription = Subscription.parse(subscription)
        return [fired.event for fired in self.history if subscription.matches(fired.event)]

    def text(self, subscription: Subscription | str = "ALL") -> str:
        """Those events as readable text (values decoded), for scanning."""
        return "\n\n".join(event.text() for event in self.received_by(subscription)) + "\n"

    def wire(self, subscription: Subscription | str = "ALL") -> bytes:
        """Those events exactly as ``text/event-plain`` would carry them."""
        return b"".join(event.plain() for event in self.received_by(subscription))
