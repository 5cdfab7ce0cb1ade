"""What rendering produces: pre-recorded fragments and pauses, in playing order."""

from __future__ import annotations

import attrs

__all__ = ["Fragment", "Pause", "Piece"]


@attrs.frozen
class Fragment:
    """One pre-recorded file, named relative to a voice directory, without rate or extension.

    ``Fragment("digits/21")`` is ``<voice>/digits/<rate>/21.wav`` on disk, and
    ``digits/21.wav`` for FreeSWITCH once ``sound_prefix`` points at the voice.
    """

    name: str

    @property
    def category(self) -> str:
        """The directory part (``digits``)."""
        return self.name.partition("/")[0]

    @property
    def playback_name(self) -> str:
        """The name FreeSWITCH resolves against ``sound_prefix`` (``digits/21.wav``)."""
        return f"{self.name}.wav"


@attrs.frozen
class Pause:
    """Silence between fragments (a digit-group pause, or an utterance's ``Silence``)."""

    milliseconds: int


Piece = Fragment | Pause
