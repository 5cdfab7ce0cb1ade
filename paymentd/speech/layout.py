"""Where the recorded audio lives, and the check that a sounds directory is complete.

FreeSWITCH's layout: ``<sounds root>/<lang>/<region>/<voice>/<category>/<rate>/<name>.wav``
(``sounds/en/us/slt/paymentd/8000/welcome.wav``). With the channel's
``sound_prefix`` set to ``<sounds root>/<voice_path>``, FreeSWITCH resolves
``paymentd/welcome.wav`` by looking in ``paymentd/<call rate>/welcome.wav``.
"""

from __future__ import annotations

import wave
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from paymentd.speech.base import Language
from paymentd.speech.catalog import prompt_catalog

__all__ = [
    "HOLD_MUSIC",
    "RATES",
    "best_rate",
    "check_sounds",
    "default_sounds_root",
    "fragment_path",
    "required_fragments",
    "voice_directory",
]

#: The sample rates every fragment is recorded at.
RATES: Final = (8000, 16000)

#: The hold music (no voice): ``sounds/music/<rate>/paymentd_hold.wav``, where FreeSWITCH keeps
#: its own music, reached from every voice directory through a ``music`` link.
HOLD_MUSIC: Final = "music/paymentd_hold"


def default_sounds_root() -> Path:
    """The ``sounds/`` directory of a source checkout (installs point the config elsewhere)."""
    return Path(__file__).resolve().parents[2] / "sounds"


def voice_directory(sounds_root: Path, language: Language) -> Path:
    """The directory FreeSWITCH's ``sound_prefix`` must name for ``language``."""
    return sounds_root / language.voice_path


def fragment_path(voice_dir: Path, name: str, rate: int) -> Path:
    """The file of ``name`` (``digits/21``) at ``rate``: ``<voice>/digits/<rate>/21.wav``."""
    category, _, rest = name.partition("/")
    return voice_dir / category / str(rate) / f"{rest}.wav"


def best_rate(call_rate: int) -> int:
    """The recorded rate to compose audio at for a call sampling at ``call_rate`` Hz."""
    return max((r for r in RATES if r <= call_rate), default=RATES[0])


def required_fragments(language: Language) -> frozenset[str]:
    """Every fragment a call in ``language`` may play: prompts, rendered words, hold music."""
    prompts = {f"paymentd/{name}" for name in prompt_catalog().for_language(language.tag)}
    return frozenset(language.vocabulary()) | prompts | {HOLD_MUSIC}


def check_sounds(sounds_root: Path, language: Language, rates: Iterable[int] = RATES) -> list[str]:
    """Problems that would leave a caller in ``language`` hearing silence; empty when complete.

    Every prompt with a text in the language, every fragment the renderer can
    produce and the hold music must exist at every rate as mono 16-bit PCM WAV
    at that rate. Each problem names the file and what is wrong with it.
    """
    voice_dir = voice_directory(sounds_root, language)
    if not voice_dir.is_dir():
        return [f"{voice_dir}: no such directory (the {language.tag} voice)"]
    problems: list[str] = []
    for rate in rates:
        for name in sorted(required_fragments(language)):
            path = fragment_path(voice_dir, name, rate)
            problem = _wav_problem(path, rate)
            if problem:
                problems.append(f"{path}: {problem}")
    return problems


def _wav_problem(path: Path, rate: int) -> str | None:
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, framerate, frames = (
                wav.getnchannels(),
                wav.getsampwidth(),
                wav.getframerate(),
                wav.getnframes(),
            )
    except FileNotFoundError:
        return "missing"
    except (OSError, EOFError, wave.Error) as exc:
        return f"unreadable WAV ({exc})"
    if (channels, width, framerate) != (1, 2, rate):
        return (
            f"expected mono 16-bit {rate} Hz, found {channels} channel(s), "
            f"{width * 8}-bit, {framerate} Hz"
        )
    if frames == 0:
        return "empty"
    return None
