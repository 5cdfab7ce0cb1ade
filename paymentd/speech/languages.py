"""The languages paymentd speaks, by BCP 47 tag."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from paymentd.speech.base import Language
from paymentd.speech.english import AmericanEnglish
from paymentd.speech.spanish import LatinAmericanSpanish

__all__ = ["LANGUAGES", "find_language"]

LANGUAGES: Final[Mapping[str, Language]] = {
    lang.tag: lang for lang in (AmericanEnglish(), LatinAmericanSpanish())
}


def find_language(tag: str) -> Language:
    """The language for ``tag`` (a channel's ``paymentd_language``, a config value).

    Matching ignores case and ``_`` versus ``-``; a tag of another region falls back
    to the language's one region (``es-MX`` and ``es`` -> ``es-US``). Raises
    ``LookupError`` for a language paymentd does not speak.
    """
    wanted = tag.strip().replace("_", "-").lower()
    for known, language in LANGUAGES.items():
        if known.lower() == wanted:
            return language
    primary = wanted.partition("-")[0]
    for known, language in LANGUAGES.items():
        if known.lower().partition("-")[0] == primary:
            return language
    raise LookupError(f"no language {tag!r}; paymentd speaks {', '.join(LANGUAGES)}")
