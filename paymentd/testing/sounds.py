"""How long a playback lasts, and whether FreeSWITCH would find the file at all.

A WAV file that exists is measured from its header (frames and rate), so a
prompt plays exactly as long as it would on FreeSWITCH.  Otherwise a test can
give a duration per file name, or fall back to a default; with ``strict`` a
missing file fails like on FreeSWITCH (``FILE NOT FOUND``).  Relative names are
looked up under ``sound_prefix`` (the channel variable) when it is set, and only
there; otherwise in the simulator's sound directories.
"""

from __future__ import annotations

import wave
from pathlib import Path

import attrs

__all__ = ["Audio", "SoundCatalog"]

# FreeSWITCH reads files ahead in blocks; playback_samples after an interrupted
# playback is the number of samples read so far, in these blocks.
READ_BLOCK = 16384


@attrs.frozen
class Audio:
    """A playable file: its length in samples at its own rate."""

    samples: int
    rate: int = 8000

    @property
    def seconds(self) -> float:
        """Length in (simulated) seconds."""
        return self.samples / self.rate


@attrs.define
class SoundCatalog:
    """Resolves playback arguments to audio lengths."""

    directories: list[Path] = attrs.Factory(list)
    durations: dict[str, float] = attrs.Factory(dict)
    default_seconds: float = 2.0
    strict: bool = False

    def lookup(self, name: str, sound_prefix: str | None = None) -> Audio | None:
        """The audio for a file argument, or ``None`` if FreeSWITCH would not find it."""
        for key, seconds in self.durations.items():
            if key == name or key in name:
                return Audio(int(seconds * 8000))
        for base in self._candidates(name, sound_prefix):
            for path in _rate_paths(base):
                if path.is_file():
                    return _measure(path) or Audio(int(self.default_seconds * 8000))
        if self.strict:
            return None
        return Audio(int(self.default_seconds * 8000))

    def _candidates(self, name: str, sound_prefix: str | None) -> list[Path]:
        path = Path(name)
        if path.is_absolute():
            return [path]
        # switch_ivr_play_file: a relative name becomes <sound_prefix>/<name> and nothing
        # else; only without sound_prefix does the file module look in the sounds
        # directories (here: ``directories``).
        bases = [Path(sound_prefix)] if sound_prefix else self.directories
        return [base / path for base in bases]


#: mod_sndfile's ``rates[]``, tried from the highest down when the channel's rate is missing.
_RATES = (8000, 16000, 32000, 48000)


def _rate_paths(path: Path, rate: int = 8000) -> list[Path]:
    """Where mod_sndfile looks for ``path``: ``<dir>/<rate>/<name>`` at the channel's rate
    (loopback channels: 8000), then at each rate in ``rates[]`` from the highest, then
    ``path`` itself (sndfile_file_open)."""
    rated = [path.parent / str(r) / path.name for r in (rate, *reversed(_RATES))]
    return [*rated, path]


def _measure(path: Path) -> Audio | None:
    try:
        with wave.open(str(path), "rb") as audio:
            return Audio(audio.getnframes(), audio.getframerate())
    except (wave.Error, EOFError, OSError):
        return None
