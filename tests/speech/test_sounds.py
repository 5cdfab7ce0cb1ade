"""The sounds layout, the completeness check, and the committed audio itself."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

from paymentd.speech import (
    LANGUAGES,
    RATES,
    Language,
    best_rate,
    check_sounds,
    default_sounds_root,
    find_language,
    required_fragments,
    voice_directory,
)
from paymentd.speech.layout import HOLD_MUSIC, fragment_path

from .conftest import write_wav

ALL = list(LANGUAGES.values())
EN = find_language("en-US")
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("language", ALL, ids=lambda lang: lang.tag)
def test_the_committed_sounds_are_complete(language: Language) -> None:
    assert check_sounds(default_sounds_root(), language) == []


def test_the_committed_sounds_are_in_freeswitch_layout() -> None:
    root = default_sounds_root()
    assert root == REPO / "sounds"
    for rate in RATES:
        assert (root / "en/us/slt/paymentd" / str(rate) / "enter_card_number.wav").is_file()
        assert (root / "music" / str(rate) / "paymentd_hold.wav").is_file()


@pytest.mark.parametrize("language", ALL, ids=lambda lang: lang.tag)
def test_every_voice_reaches_the_music_through_a_relative_link(language: Language) -> None:
    link = voice_directory(default_sounds_root(), language) / "music"
    assert link.is_symlink()
    assert not os.path.isabs(os.readlink(link))


def test_fragment_path_puts_the_rate_under_the_category() -> None:
    voice = Path("/s/en/us/slt")
    assert fragment_path(voice, "paymentd/welcome", 8000) == Path(
        "/s/en/us/slt/paymentd/8000/welcome.wav"
    )
    assert fragment_path(voice, "digits/21-m", 16000) == Path("/s/en/us/slt/digits/16000/21-m.wav")


@pytest.mark.parametrize(
    ("call", "recorded"),
    [(8000, 8000), (11025, 8000), (16000, 16000), (48000, 16000), (4000, 8000)],
)
def test_best_rate(call: int, recorded: int) -> None:
    assert best_rate(call) == recorded


def test_required_fragments_cover_prompts_words_and_music() -> None:
    required = required_fragments(EN)
    assert {"paymentd/welcome", "digits/99", "currency/dollar", HOLD_MUSIC} <= required
    assert "time/month_12" in required
    assert "ascii/90" in required


def test_a_complete_directory_passes(fake_sounds: Path) -> None:
    for language in ALL:
        assert check_sounds(fake_sounds, language) == []


def test_a_missing_voice_is_one_problem(tmp_path: Path) -> None:
    assert check_sounds(tmp_path, EN) == [
        f"{tmp_path}/en/us/slt: no such directory (the en-US voice)"
    ]


def test_each_broken_file_is_named(fake_sounds: Path) -> None:
    voice = voice_directory(fake_sounds, EN)
    missing = fragment_path(voice, "paymentd/welcome", 8000)
    missing.unlink()
    wrong_rate = fragment_path(voice, "digits/7", 16000)
    write_wav(wrong_rate, b"\x01\x00" * 80, 8000)
    stereo = fragment_path(voice, "currency/cent", 8000)
    write_wav(stereo, b"\x01\x00" * 160, 8000, channels=2)
    empty = fragment_path(voice, "time/month_01", 8000)
    write_wav(empty, b"", 8000)
    garbage = fragment_path(voice, "ascii/65", 16000)
    garbage.write_bytes(b"not a wav")

    problems = check_sounds(fake_sounds, EN)

    assert sorted(problems) == sorted(
        [
            f"{missing}: missing",
            f"{wrong_rate}: expected mono 16-bit 16000 Hz, found 1 channel(s), 16-bit, 8000 Hz",
            f"{stereo}: expected mono 16-bit 8000 Hz, found 2 channel(s), 16-bit, 8000 Hz",
            f"{empty}: empty",
            f"{garbage}: unreadable WAV (file does not start with RIFF id)",
        ]
    )
    # The other language's voice is untouched and still complete.
    assert check_sounds(fake_sounds, find_language("es-US")) == []


def test_only_the_rates_asked_for_are_checked(fake_sounds: Path) -> None:
    fragment_path(voice_directory(fake_sounds, EN), "digits/1", 16000).unlink()
    assert check_sounds(fake_sounds, EN, rates=[8000]) == []
    assert len(check_sounds(fake_sounds, EN)) == 1


def _make_sounds_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_sounds", REPO / "scripts/make_sounds.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("language", ALL, ids=lambda lang: lang.tag)
def test_the_generator_records_exactly_what_the_check_requires(language: Language) -> None:
    script = _make_sounds_script()
    recorded = set(script.texts_for(language))
    assert recorded | {HOLD_MUSIC} == required_fragments(language)
    assert language.tag in script.VOICES
