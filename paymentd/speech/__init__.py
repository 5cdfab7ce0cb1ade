"""What the caller hears: prompts and spoken values, composed from pre-recorded audio.

- :func:`render` turns :mod:`~paymentd.speech.utterances` into fragments and pauses
  for one language (:data:`LANGUAGES`, :func:`find_language`).
- :func:`playback_argument` names non-sensitive speech for FreeSWITCH's ``playback``;
  :class:`Composer` joins sensitive speech (card read-backs) into a one-time file.
- :func:`check_sounds` proves a sounds directory has every file a call may play.
"""

from paymentd.speech.base import Language
from paymentd.speech.catalog import Catalog, prompt_catalog
from paymentd.speech.compose import Composer, OneTimeAudio, ReadbackDirectory
from paymentd.speech.languages import LANGUAGES, find_language
from paymentd.speech.layout import (
    RATES,
    best_rate,
    check_sounds,
    default_sounds_root,
    required_fragments,
    voice_directory,
)
from paymentd.speech.pieces import Fragment, Pause, Piece
from paymentd.speech.render import (
    GROUP_PAUSE_MS,
    HOLD_LOOP,
    SensitiveContentError,
    playback_argument,
    render,
)

__all__ = [
    "GROUP_PAUSE_MS",
    "HOLD_LOOP",
    "LANGUAGES",
    "RATES",
    "Catalog",
    "Composer",
    "Fragment",
    "Language",
    "OneTimeAudio",
    "Pause",
    "Piece",
    "ReadbackDirectory",
    "SensitiveContentError",
    "best_rate",
    "check_sounds",
    "default_sounds_root",
    "find_language",
    "playback_argument",
    "prompt_catalog",
    "render",
    "required_fragments",
    "voice_directory",
]
