"""Utterances -> the ordered fragments and pauses that speak them in one language.

Non-sensitive speech is played straight from the recorded fragments
(:func:`playback_argument`); anything that reads card data is composed into one
opaque file instead (:mod:`paymentd.speech.compose`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

from paymentd.speech.base import Language
from paymentd.speech.catalog import prompt_catalog
from paymentd.speech.pieces import Fragment, Pause, Piece
from paymentd.speech.utterances import (
    Prompt,
    SayAmount,
    SayCharacters,
    SayDigits,
    SayMonthYear,
    SayNumber,
    Silence,
    Utterance,
    is_sensitive,
)

__all__ = [
    "GROUP_PAUSE_MS",
    "HOLD_LOOP",
    "SensitiveContentError",
    "playback_argument",
    "render",
]

#: The pause between digit groups ("4111 <pause> 1111") and around a spelled separator.
GROUP_PAUSE_MS: Final = 300

#: The ``playback`` argument the driver repeats while a gateway is slow: "please continue to hold",
#: then twelve seconds of music, round and round (names relative to the voice directory).
HOLD_LOOP: Final = "file_string://paymentd/please_hold.wav!music/paymentd_hold.wav"

_DIGITS = frozenset("0123456789")
_SPELLABLE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


class SensitiveContentError(ValueError):
    """Card data was about to go into a FreeSWITCH argument; compose it instead."""


def render(utterances: Iterable[Utterance], language: Language) -> tuple[Piece, ...]:
    """The fragments and pauses that say ``utterances`` in ``language``, in order.

    Raises ``ValueError`` for something that cannot be said (an unknown prompt,
    a negative amount, a month 13, a non-digit in ``SayDigits``). Every fragment
    returned is in the language's vocabulary or prompt catalog, so a complete
    sounds directory (:func:`paymentd.speech.check_sounds`) has a file for it.
    """
    vocabulary = language.vocabulary()
    pieces: list[Piece] = []
    for utterance in utterances:
        for piece in _pieces(utterance, language):
            prompt = isinstance(piece, Fragment) and piece.category == "paymentd"
            if isinstance(piece, Fragment) and not prompt and piece.name not in vocabulary:
                raise AssertionError(f"{language.tag} rendered unknown fragment {piece.name}")
            pieces.append(piece)
    return tuple(pieces)


def playback_argument(utterances: Iterable[Utterance], language: Language) -> str:
    """The argument of FreeSWITCH's ``playback`` that says non-sensitive ``utterances``.

    One file is named as it is (``paymentd/welcome.wav``), several are joined as
    ``file_string://a.wav!silence_stream://300!b.wav``; names are relative to the
    voice directory FreeSWITCH's ``sound_prefix`` points at. Raises
    :class:`SensitiveContentError` if any utterance reads card data: app arguments
    are logged and broadcast, so those must be composed into an opaque file.
    """
    items = list(utterances)
    if any(is_sensitive(u) for u in items):
        raise SensitiveContentError("sensitive utterances must be composed, not named")
    names = [_playback_name(piece) for piece in render(items, language)]
    if len(names) == 1:
        return names[0]
    return "file_string://" + "!".join(names)


def _playback_name(piece: Piece) -> str:
    if isinstance(piece, Pause):
        return f"silence_stream://{piece.milliseconds}"
    return piece.playback_name


def _pieces(utterance: Utterance, language: Language) -> Iterator[Piece]:
    match utterance:
        case Prompt(name):
            yield _prompt(name, language)
        case SayAmount(minor, currency):
            if minor < 0:
                raise ValueError("cannot say a negative amount")
            yield from map(Fragment, language.amount(minor, currency))
        case SayNumber(value):
            yield from map(Fragment, language.number(value))
        case SayDigits():
            yield from _digits(utterance, language)
        case SayMonthYear():
            if not 1 <= utterance.month <= 12:
                raise ValueError("month out of range 1..12")
            yield from map(Fragment, language.month_year(utterance.month, utterance.year))
        case SayCharacters(text):
            yield from _characters(text, language)
        case Silence(milliseconds):
            if milliseconds < 0:
                raise ValueError("negative silence")
            yield Pause(milliseconds)


def _prompt(name: str, language: Language) -> Fragment:
    texts = prompt_catalog().texts.get(name)
    if texts is None:
        raise ValueError(f"unknown prompt {name!r}")
    if language.tag not in texts:
        raise ValueError(f"prompt {name!r} has no {language.tag} text")
    return Fragment(f"paymentd/{name}")


def _digits(utterance: SayDigits, language: Language) -> Iterator[Piece]:
    # The digits themselves never go into an error message: they may be a PAN.
    if not set(utterance.digits) <= _DIGITS:
        raise ValueError("SayDigits holds a character other than 0-9")
    if utterance.group is not None and utterance.group < 1:
        raise ValueError("SayDigits group must be at least 1")
    for index, digit in enumerate(utterance.digits):
        if index and utterance.group and index % utterance.group == 0:
            yield Pause(GROUP_PAUSE_MS)
        yield Fragment(language.digit(digit))


def _characters(text: str, language: Language) -> Iterator[Piece]:
    # A separator ("TX-4F9K") is heard as a pause, so the caller hears the groups.
    for char in text.upper():
        if char in _SPELLABLE:
            yield Fragment(language.character(char))
        else:
            yield Pause(GROUP_PAUSE_MS)
