"""What each party hears, and what recordings capture.

A channel's far end (the caller on the customer leg, the agent on the agent
leg) hears what is played on that channel and, while the channel is bridged,
the other party's voice, which ``uuid_audio <other> start read mute N`` or
``uuid_audio <this> start write mute N`` silences (any non-zero level mutes;
``level`` only changes loudness).  Keys cross a bridge as signalling, not as
audio: muting does not stop them, ``sensitive_dtmf`` on the keying leg and
``bridge_filter_dtmf`` (read when the bridge starts) do.

A recording (``uuid_record``) captures what its channel hears and says: the
prompts played on it and the keys it receives, each marked masked or not at
that moment (``uuid_record <uuid> mask|unmask <path>``).  Tests assert that no
key was recorded unmasked while card data was being keyed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from paymentd.testing.channel import Dtmf
    from paymentd.testing.records import PromptRecord
    from paymentd.testing.session import Session

__all__ = ["AudioBug", "Hearing", "MediaModel", "RecordedItem", "Recording"]


@attrs.frozen
class RecordedItem:
    """Something a recording captured: ``dtmf`` (the digit) or ``prompt`` (the file)."""

    at: float
    kind: str
    detail: str
    masked: bool


@attrs.define
class Recording:
    """One ``uuid_record`` session on a channel."""

    path: str
    channel_uuid: str
    started: float
    stopped: float | None = None
    masked: bool = False
    items: list[RecordedItem] = attrs.Factory(list)
    mask_changes: list[tuple[float, bool]] = attrs.Factory(list)

    def unmasked(self, kind: str | None = None) -> list[RecordedItem]:
        """Items captured in clear (optionally of one kind)."""
        return [item for item in self.items if not item.masked and kind in (None, item.kind)]


@attrs.frozen
class AudioBug:
    """A ``uuid_audio`` bug: which direction, ``mute`` or ``level``, and the level."""

    direction: str
    function: str
    level: int

    @property
    def silences(self) -> bool:
        """Any non-zero mute level silences the direction."""
        return self.function == "mute" and self.level != 0


@attrs.frozen
class Hearing:
    """What the far end of a channel hears right now."""

    channel_uuid: str
    prompt: str | None
    partner_uuid: str | None
    hears_partner: bool

    @property
    def silent(self) -> bool:
        """Nothing audible: no prompt and no other party."""
        return self.prompt is None and not self.hears_partner


class MediaModel:
    """Audio bugs, recordings and hearing, across every channel of the switch."""

    def __init__(self) -> None:
        self.recordings: list[Recording] = []
        self.audio_bugs: dict[str, AudioBug] = {}

    def start_recording(self, session: Session, path: str) -> Recording:
        """A ``session_record`` media bug starts on a channel (``switch_ivr_record_session``:
        ``uuid_record ... start`` and the ``record_session`` app)."""
        recording = Recording(path, session.uuid, session.switch.clock.real_now())
        self.recordings.append(recording)
        session.fire_channel(
            "MEDIA_BUG_START", {"Media-Bug-Function": "session_record", "Media-Bug-Target": path}
        )
        session.fire_channel("RECORD_START", {"Record-File-Path": path})
        return recording

    def active_recordings(self, uuid: str) -> list[Recording]:
        """Recordings running on a channel."""
        return [rec for rec in self.recordings if rec.channel_uuid == uuid and rec.stopped is None]

    def recording(self, uuid: str, path: str) -> Recording | None:
        """The running recording of ``path`` on a channel."""
        return next((rec for rec in self.active_recordings(uuid) if rec.path == path), None)

    def _capture(self, session: Session, kind: str, detail: str) -> None:
        at = session.switch.clock.real_now()
        for rec in self.active_recordings(session.uuid):
            rec.items.append(RecordedItem(at, kind, detail, rec.masked))

    def key_received(self, session: Session, key: Dtmf) -> None:
        """A key arrived on a channel: its recordings capture the tone."""
        self._capture(session, "dtmf", key.digit)

    def prompt_started(self, session: Session, record: PromptRecord) -> None:
        """A prompt plays on a channel: its recordings capture it."""
        self._capture(session, "prompt", record.file)

    def dtmf_forwarded(self, session: Session, digit: str) -> None:
        """A key is sent out of this channel (across a bridge, or ``uuid_send_dtmf``):
        its far end hears it; on a loopback pair it arrives on the other leg."""
        self._capture(session, "dtmf", digit)
        for observer in list(session.observers):
            observer.dtmf_heard(digit)
        if session.partner is not None:
            session.partner.queue_dtmf(digit)

    def hearing(self, session: Session) -> Hearing:
        """What the far end of ``session``'s channel hears now."""
        own = self.audio_bugs.get(session.uuid)
        deaf = own is not None and own.direction == "write" and own.silences
        partner = session.bridged_to
        hears_partner = False
        if partner is not None and not deaf:
            bug = self.audio_bugs.get(partner.uuid)
            hears_partner = not (bug is not None and bug.direction == "read" and bug.silences)
        prompt = None if deaf or session.playing is None else session.playing.file
        return Hearing(
            session.uuid, prompt, None if partner is None else partner.uuid, hears_partner
        )
