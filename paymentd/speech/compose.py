"""One-time read-back audio: card data spoken from a file whose name says nothing.

FreeSWITCH logs an app's argument and broadcasts it on channel events, so a
read-back played as ``file_string://digits/4.wav!digits/1.wav!...`` would spell
the card number to every listener. Instead the fragments are joined here, in
pure Python, into one WAV at the call's rate, written under a random name into
a private directory (tmpfs when there is one, so the audio never reaches a
disk), played, and deleted.

FreeSWITCH reads that file, so it must run as the same user as paymentd (the
directory is ``0700``, the file ``0600``) on the same host.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import tempfile
import wave
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from paymentd.speech.base import Language
from paymentd.speech.layout import RATES, fragment_path, voice_directory
from paymentd.speech.pieces import Fragment
from paymentd.speech.render import render
from paymentd.speech.utterances import Utterance

__all__ = ["Composer", "OneTimeAudio", "ReadbackDirectory", "default_readback_directory"]

_DIR_MODE = 0o700
_FILE_MODE = 0o600
_SAMPLE_WIDTH = 2


def default_readback_directory() -> Path:
    """``/dev/shm/paymentd-<uid>`` where ``/dev/shm`` exists, else one in the temp dir."""
    shm = Path("/dev/shm")  # noqa: S108 -- tmpfs on purpose; the directory's owner is checked
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    return base / f"paymentd-{os.geteuid()}"


class ReadbackDirectory:
    """The private directory one-time files are written to.

    ``root`` (``0700``) is made, or checked to be a real directory owned by this
    user. Each instance writes into a subdirectory of its own, ``<pid>-<random>``,
    so daemons sharing a root never touch each other's files; opening one removes
    what processes that are gone left behind (a crash mid-call leaves card data).
    """

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or default_readback_directory()
        _private_directory(self.root)
        for child in self.root.iterdir():
            pid, _, _ = child.name.partition("-")
            if not (pid.isdigit() and _running(int(pid))):
                _remove(child)
        self.path = self.root / f"{os.getpid()}-{secrets.token_hex(4)}"
        _private_directory(self.path)

    def close(self) -> None:
        """Remove this instance's subdirectory and every file still in it (at shutdown)."""
        _remove(self.path)

    def write(self, frames: bytearray, rate: int) -> OneTimeAudio:
        """Write mono 16-bit ``frames`` at ``rate`` under a fresh random name (``0600``)."""
        path = self.path / f"{secrets.token_hex(16)}.wav"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with os.fdopen(os.open(path, flags, _FILE_MODE), "wb") as file, wave.open(file) as wav:
            wav.setnchannels(1)
            wav.setsampwidth(_SAMPLE_WIDTH)
            wav.setframerate(rate)
            wav.writeframes(frames)
        return OneTimeAudio(path)


class OneTimeAudio:
    """A composed read-back file: play ``path``, then :meth:`delete` it.

    Also a context manager that deletes on exit, so an error or a hang-up
    between writing and playing still removes the file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def delete(self) -> None:
        """Overwrite and remove the file; safe to call more than once."""
        _shred(self.path)

    def __enter__(self) -> OneTimeAudio:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.delete()

    def __repr__(self) -> str:
        return f"OneTimeAudio({str(self.path)!r})"


class Composer:
    """Joins one language's recorded fragments into one-time files.

    Fragments are read once and kept in memory (the whole vocabulary is a few
    hundred kilobytes), so composing a read-back costs no fragment I/O.
    """

    def __init__(self, sounds_root: Path, language: Language, directory: ReadbackDirectory) -> None:
        self.language = language
        self.directory = directory
        self._voice_dir = voice_directory(sounds_root, language)
        self._frames: dict[tuple[str, int], bytes] = {}

    def compose(self, utterances: Iterable[Utterance], rate: int) -> OneTimeAudio:
        """Say ``utterances`` into one new file at ``rate`` (one of :data:`RATES`).

        Raises ``ValueError`` for an unsayable utterance or rate, ``OSError`` if a
        fragment cannot be read.
        """
        if rate not in RATES:
            raise ValueError(f"no recordings at {rate} Hz (have {RATES})")
        audio = bytearray()
        try:
            for piece in render(utterances, self.language):
                if isinstance(piece, Fragment):
                    audio += self._fragment(piece.name, rate)
                else:
                    audio += bytes(_SAMPLE_WIDTH * (rate * piece.milliseconds // 1000))
            return self.directory.write(audio, rate)
        finally:
            # The read-back of a card number: do not leave it in freed memory.
            audio[:] = bytes(len(audio))

    def _fragment(self, name: str, rate: int) -> bytes:
        frames = self._frames.get((name, rate))
        if frames is None:
            frames = _read(fragment_path(self._voice_dir, name, rate), rate)
            self._frames[name, rate] = frames
        return frames


def _read(path: Path, rate: int) -> bytes:
    with wave.open(str(path), "rb") as wav:
        shape = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate())
        if shape != (1, _SAMPLE_WIDTH, rate):
            raise ValueError(f"{path}: expected mono 16-bit {rate} Hz WAV, got {shape}")
        return wav.readframes(wav.getnframes())


def _private_directory(path: Path) -> None:
    try:
        path.mkdir(mode=_DIR_MODE)
    except FileExistsError:
        info = path.lstat()
        # Refuse a link or someone else's directory: they could read what we write.
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            raise PermissionError(f"{path} is not a directory owned by us") from None
    path.chmod(_DIR_MODE)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, someone else's
    return True


def _remove(path: Path) -> None:
    """Shred a file, or everything in a directory and then the directory; never follow a link.

    Two daemons starting together may clean the same leftovers: what is gone is gone.
    """
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISDIR(path.lstat().st_mode):
            for child in path.iterdir():
                _remove(child)
            path.rmdir()
        else:
            _shred(path)


def _shred(path: Path) -> None:
    """Zero a regular file's bytes, then unlink it (the zeroing matters off tmpfs)."""
    with contextlib.suppress(FileNotFoundError):
        info = path.lstat()
        if stat.S_ISREG(info.st_mode):
            with contextlib.suppress(OSError), path.open("r+b") as file:
                file.write(bytes(info.st_size))
        path.unlink()
