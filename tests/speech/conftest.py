"""Helpers for the speech tests: what a rendering says, and a sounds directory made to order."""

from __future__ import annotations

import shutil
import wave
from collections.abc import Iterable
from pathlib import Path

import pytest

from paymentd.speech import RATES, Fragment, Language, Piece, prompt_catalog, required_fragments
from paymentd.speech.layout import fragment_path, voice_directory


def said(pieces: Iterable[Piece], language: Language) -> str:
    """The recorded texts of ``pieces`` joined by spaces; a pause is ``|``."""
    words = language.vocabulary()
    prompts = prompt_catalog()
    out = []
    for piece in pieces:
        if not isinstance(piece, Fragment):
            out.append("|")
        elif piece.category == "paymentd":
            out.append(prompts.text(piece.name.partition("/")[2], language.tag))
        else:
            out.append(words[piece.name])
    return " ".join(out)


def fake_frames(name: str, rate: int) -> bytes:
    """Distinct, recognisable audio for one fragment: its own sample value, 10 ms long."""
    value = (sum(name.encode()) * 7 + rate) % 30000 + 1
    return value.to_bytes(2, "little", signed=True) * (rate // 100)


def write_wav(path: Path, frames: bytes, rate: int, channels: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames)


def make_voice(root: Path, language: Language) -> Path:
    """A complete voice directory for ``language`` under ``root`` with :func:`fake_frames`."""
    voice = voice_directory(root, language)
    for name in required_fragments(language):
        for rate in RATES:
            write_wav(fragment_path(voice, name, rate), fake_frames(name, rate), rate)
    return voice


@pytest.fixture(scope="session")
def _fake_sounds_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from paymentd.speech import LANGUAGES

    root = tmp_path_factory.mktemp("template") / "sounds"
    for language in LANGUAGES.values():
        make_voice(root, language)
    return root


@pytest.fixture
def fake_sounds(_fake_sounds_template: Path, tmp_path: Path) -> Path:
    """A sounds root with a complete fake voice for every language, the test's own to break."""
    return Path(shutil.copytree(_fake_sounds_template, tmp_path / "sounds"))
