"""A FreeSWITCH simulator for paymentd's integration tests.

(Full documentation below is completed with the public API.)
"""

from paymentd.testing.bus import Subscription
from paymentd.testing.caller import Agent, CallEnded, Caller, Rule, Script, at_start, when_playing
from paymentd.testing.dialplan import Action, Dialplan, Extension
from paymentd.testing.events import FsEvent
from paymentd.testing.inbound import InboundServer
from paymentd.testing.media import Hearing, RecordedItem, Recording
from paymentd.testing.records import ActionRecord, KeyRecord, PromptRecord, WireRecord
from paymentd.testing.simulator import (
    AgentCall,
    Call,
    CallResult,
    FreeSwitchSimulator,
    SocketRecord,
    sounds_from,
)
from paymentd.testing.sounds import SoundCatalog
from paymentd.testing.switch import SimOptions

__all__ = [
    "Action",
    "ActionRecord",
    "Agent",
    "AgentCall",
    "Call",
    "CallEnded",
    "CallResult",
    "Caller",
    "Dialplan",
    "Extension",
    "FreeSwitchSimulator",
    "FsEvent",
    "Hearing",
    "InboundServer",
    "KeyRecord",
    "PromptRecord",
    "RecordedItem",
    "Recording",
    "Rule",
    "Script",
    "SimOptions",
    "SocketRecord",
    "SoundCatalog",
    "Subscription",
    "WireRecord",
    "at_start",
    "sounds_from",
    "when_playing",
]
