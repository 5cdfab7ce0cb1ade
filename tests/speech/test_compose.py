"""One-time read-back files: content, privacy, clean-up."""

from __future__ import annotations

import os
import re
import stat
import wave
from pathlib import Path

import pytest

from paymentd.speech import (
    GROUP_PAUSE_MS,
    Composer,
    OneTimeAudio,
    ReadbackDirectory,
    default_sounds_root,
    find_language,
)
from paymentd.speech.compose import default_readback_directory
from paymentd.speech.layout import fragment_path, voice_directory
from paymentd.speech.utterances import Prompt, SayDigits, SayMonthYear, Utterance

from .conftest import fake_frames, write_wav

EN = find_language("en-US")
ES = find_language("es-US")
PAN = "4111111111111111"
READ_BACK: list[Utterance] = [
    Prompt("you_entered"),
    SayDigits(PAN, group=4),
    Prompt("confirm_or_reenter"),
]


@pytest.fixture
def directory(tmp_path: Path) -> ReadbackDirectory:
    return ReadbackDirectory(tmp_path / "readback")


def _frames(path: Path) -> tuple[int, int, int, bytes]:
    with wave.open(str(path), "rb") as wav:
        return (
            wav.getnchannels(),
            wav.getsampwidth(),
            wav.getframerate(),
            wav.readframes(wav.getnframes()),
        )


@pytest.mark.parametrize("rate", [8000, 16000])
def test_the_file_is_the_fragments_and_pauses_in_order(
    fake_sounds: Path, directory: ReadbackDirectory, rate: int
) -> None:
    composer = Composer(fake_sounds, EN, directory)
    with composer.compose([Prompt("expiry_date_is"), SayDigits("1234", group=2)], rate) as audio:
        channels, width, framerate, frames = _frames(audio.path)
    pause = bytes(2 * rate * GROUP_PAUSE_MS // 1000)
    expected = b"".join(
        [
            fake_frames("paymentd/expiry_date_is", rate),
            fake_frames("digits/1", rate),
            fake_frames("digits/2", rate),
            pause,
            fake_frames("digits/3", rate),
            fake_frames("digits/4", rate),
        ]
    )
    assert (channels, width, framerate) == (1, 2, rate)
    assert frames == expected


def test_the_name_is_random_and_says_nothing(
    fake_sounds: Path, directory: ReadbackDirectory
) -> None:
    composer = Composer(fake_sounds, EN, directory)
    first = composer.compose(READ_BACK, 8000)
    second = composer.compose(READ_BACK, 8000)
    for audio in (first, second):
        assert re.fullmatch(r"[0-9a-f]{32}\.wav", audio.path.name)
        assert audio.path.parent == directory.path
        assert "1111" not in repr(audio)
    assert first.path != second.path


def test_the_directory_and_file_are_private(fake_sounds: Path, tmp_path: Path) -> None:
    umask = os.umask(0o022)  # permissive: the modes must not depend on it
    try:
        directory = ReadbackDirectory(tmp_path / "readback")
        audio = Composer(fake_sounds, ES, directory).compose([SayMonthYear(3, 2028)], 16000)
    finally:
        os.umask(umask)
    assert directory.path.parent == directory.root
    assert stat.S_IMODE(directory.root.stat().st_mode) == 0o700
    assert stat.S_IMODE(directory.path.stat().st_mode) == 0o700
    assert stat.S_IMODE(audio.path.stat().st_mode) == 0o600


def test_delete_removes_the_file_and_may_be_repeated(
    fake_sounds: Path, directory: ReadbackDirectory
) -> None:
    audio = Composer(fake_sounds, EN, directory).compose(READ_BACK, 8000)
    assert audio.path.exists()
    audio.delete()
    assert not audio.path.exists()
    audio.delete()


def test_the_context_manager_deletes_even_on_error(
    fake_sounds: Path, directory: ReadbackDirectory
) -> None:
    composer = Composer(fake_sounds, EN, directory)
    with pytest.raises(RuntimeError), composer.compose(READ_BACK, 8000) as audio:
        raise RuntimeError("hung up mid-playback")
    assert not audio.path.exists()


def test_what_dead_processes_left_is_removed(tmp_path: Path) -> None:
    root = tmp_path / "readback"
    root.mkdir(mode=0o755)
    # Above the kernel's largest pid: never running.
    dead = root / "999999999-0a1b2c3d"
    dead.mkdir()
    (dead / "0123abcd.wav").write_bytes(b"RIFF... a card number, read aloud")
    (root / "stray.wav").write_bytes(b"RIFF...")
    directory = ReadbackDirectory(root)
    assert list(root.iterdir()) == [directory.path]
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


def test_what_running_processes_write_is_left_alone(
    fake_sounds: Path, directory: ReadbackDirectory
) -> None:
    playing = Composer(fake_sounds, EN, directory).compose(READ_BACK, 8000)
    neighbour = directory.root / f"{os.getppid()}-feedbeef"
    neighbour.mkdir()
    (neighbour / "abc.wav").write_bytes(b"RIFF...")

    other = ReadbackDirectory(directory.root)

    assert other.path != directory.path
    assert playing.path.exists()
    assert (neighbour / "abc.wav").exists()


def test_close_removes_the_instances_files(fake_sounds: Path, directory: ReadbackDirectory) -> None:
    audio = Composer(fake_sounds, EN, directory).compose(READ_BACK, 8000)
    directory.close()
    assert not audio.path.exists()
    assert not directory.path.exists()
    assert directory.root.exists()


def test_a_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "readback").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(PermissionError, match="not a directory owned by us"):
        ReadbackDirectory(tmp_path / "readback")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a directory away")
def test_someone_elses_directory_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "readback"
    path.mkdir()
    os.chown(path, 65534, 65534)
    with pytest.raises(PermissionError, match="not a directory owned by us"):
        ReadbackDirectory(path)


def test_the_default_directory_is_on_tmpfs_when_there_is_one() -> None:
    path = default_readback_directory()
    assert path.name == f"paymentd-{os.geteuid()}"
    if Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK):
        assert path.parent == Path("/dev/shm")


def test_an_unrecorded_rate_is_refused(fake_sounds: Path, directory: ReadbackDirectory) -> None:
    with pytest.raises(ValueError, match="44100 Hz"):
        Composer(fake_sounds, EN, directory).compose(READ_BACK, 44100)
    assert list(directory.path.iterdir()) == []


def test_a_fragment_in_the_wrong_format_is_refused(
    fake_sounds: Path, directory: ReadbackDirectory
) -> None:
    voice = voice_directory(fake_sounds, EN)
    write_wav(fragment_path(voice, "digits/4", 8000), b"\x00\x00" * 160, 16000)
    with pytest.raises(ValueError, match="expected mono 16-bit 8000 Hz"):
        Composer(fake_sounds, EN, directory).compose(READ_BACK, 8000)
    assert list(directory.path.iterdir()) == []


def test_a_real_pan_read_back_from_the_committed_sounds(directory: ReadbackDirectory) -> None:
    composer = Composer(default_sounds_root(), EN, directory)
    with composer.compose([SayDigits(PAN, group=4)], 8000) as audio:
        _, _, rate, frames = _frames(audio.path)
    seconds = len(frames) / 2 / rate
    # Sixteen digits of about half a second each, and three group pauses.
    assert 5 < seconds < 15
    assert isinstance(audio, OneTimeAudio)
