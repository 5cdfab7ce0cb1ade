"""The prompt catalog covers the dialogue, in every language, in its own words."""

from __future__ import annotations

import pytest

from paymentd.capture.prompts import PROMPTS
from paymentd.speech import HOLD_LOOP, LANGUAGES, find_language, prompt_catalog

CATALOG = prompt_catalog()


@pytest.mark.parametrize("tag", sorted(LANGUAGES))
def test_every_prompt_the_dialogue_uses_has_a_text_in_every_language(tag: str) -> None:
    missing = sorted(name for name in PROMPTS if tag not in CATALOG.texts.get(name, {}))
    assert missing == [], f"add {tag} texts to paymentd/speech/catalog.toml and run `make sounds`"


def test_english_texts_are_the_dialogues_own() -> None:
    differing = sorted(
        name for name, text in PROMPTS.items() if CATALOG.texts.get(name, {}).get("en-US") != text
    )
    assert differing == [], "copy these en-US texts from paymentd/capture/prompts.py"


def test_no_prompt_is_recorded_that_nothing_plays() -> None:
    unused = CATALOG.names - set(PROMPTS) - {"please_hold"}
    assert unused == set(), "remove these from catalog.toml (and run `make sounds`)"
    assert "paymentd/please_hold.wav" in HOLD_LOOP


def test_every_text_is_in_a_known_language_and_not_blank() -> None:
    for name, texts in CATALOG.texts.items():
        assert set(texts) == set(LANGUAGES), name
        assert all(text.strip() for text in texts.values()), name


def test_names_are_plain_file_names() -> None:
    for name in CATALOG.names:
        assert name.isidentifier(), name
        assert name == name.lower(), name


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en-US", "en-US"),
        ("EN_us", "en-US"),
        ("en", "en-US"),
        ("en-GB", "en-US"),
        ("es-US", "es-US"),
        ("es-MX", "es-US"),
        ("es", "es-US"),
        (" es-us ", "es-US"),
    ],
)
def test_find_language(tag: str, expected: str) -> None:
    assert find_language(tag).tag == expected


@pytest.mark.parametrize("tag", ["fr-FR", "", "e"])
def test_an_unknown_language_is_refused(tag: str) -> None:
    with pytest.raises(LookupError, match="speaks en-US, es-US"):
        find_language(tag)
