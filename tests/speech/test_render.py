"""Rendering: utterances -> fragments and pauses, and the plain playback argument."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from iso4217 import Currency

from paymentd.speech import (
    GROUP_PAUSE_MS,
    LANGUAGES,
    Fragment,
    Language,
    Pause,
    SensitiveContentError,
    find_language,
    playback_argument,
    render,
)
from paymentd.speech.base import MAX_NUMBER
from paymentd.speech.currencies import NAMED_UNITS, exponent
from paymentd.speech.utterances import (
    Prompt,
    SayAmount,
    SayCharacters,
    SayDigits,
    SayMonthYear,
    SayNumber,
    Silence,
    Utterance,
)

from .conftest import said

EN = find_language("en-US")
ALL = list(LANGUAGES.values())
PAN = "4111111111111111"


def test_a_prompt_is_its_recording() -> None:
    assert render([Prompt("welcome")], EN) == (Fragment("paymentd/welcome"),)


def test_an_unknown_prompt_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown prompt 'nope'"):
        render([Prompt("nope")], EN)


def test_digits_are_read_one_by_one_with_a_pause_between_groups() -> None:
    pieces = render([SayDigits(PAN, group=4)], EN)
    assert said(pieces, EN) == (
        "four one one one | one one one one | one one one one | one one one one"
    )
    assert pieces[4] == Pause(GROUP_PAUSE_MS)


def test_ungrouped_digits_have_no_pause() -> None:
    assert render([SayDigits("1234")], EN) == tuple(Fragment(f"digits/{d}") for d in "1234")


def test_a_group_longer_than_the_digits_adds_no_pause() -> None:
    assert Pause(GROUP_PAUSE_MS) not in render([SayDigits("123", group=4)], EN)


def test_a_non_digit_is_refused_without_echoing_the_digits() -> None:
    with pytest.raises(ValueError, match="other than 0-9") as caught:
        render([SayDigits("41111111x1111111")], EN)
    assert "4111" not in str(caught.value)


def test_unicode_digits_are_not_digits() -> None:
    with pytest.raises(ValueError, match="other than 0-9"):
        render([SayDigits("١٢٣")], EN)


def test_group_must_be_positive() -> None:
    with pytest.raises(ValueError, match="group"):
        render([SayDigits("1234", group=0)], EN)


def test_characters_spell_letters_and_digits_and_pause_at_separators() -> None:
    pieces = render([SayCharacters("tx-4F")], EN)
    assert pieces == (
        Fragment("ascii/84"),
        Fragment("ascii/88"),
        Pause(GROUP_PAUSE_MS),
        Fragment("digits/4"),
        Fragment("ascii/70"),
    )


def test_silence_is_a_pause() -> None:
    assert render([Silence(250)], EN) == (Pause(250),)


@pytest.mark.parametrize(
    "utterance",
    [Silence(-1), SayMonthYear(13, 2030), SayMonthYear(0, 2030), SayAmount(-1, "USD")],
)
def test_unsayable_values_are_refused(utterance: object) -> None:
    with pytest.raises(ValueError):
        render([utterance], EN)  # type: ignore[list-item]


def test_a_sequence_keeps_its_order() -> None:
    pieces = render([Prompt("you_entered"), SayNumber(3), Silence(100), Prompt("goodbye")], EN)
    assert pieces == (
        Fragment("paymentd/you_entered"),
        Fragment("digits/3"),
        Pause(100),
        Fragment("paymentd/goodbye"),
    )


def test_playback_argument_of_one_file_is_its_name() -> None:
    assert playback_argument([Prompt("welcome")], EN) == "paymentd/welcome.wav"


def test_playback_argument_joins_files_and_silences() -> None:
    argument = playback_argument([Prompt("amount_due_is"), SayAmount(500, "USD"), Silence(200)], EN)
    assert argument == (
        "file_string://paymentd/amount_due_is.wav!digits/5.wav!currency/dollar_plural.wav"
        "!silence_stream://200"
    )


@pytest.mark.parametrize(
    "sensitive",
    [SayDigits(PAN, group=4), SayDigits("123"), SayMonthYear(3, 2028)],
)
def test_playback_argument_refuses_card_data(sensitive: SayDigits | SayMonthYear) -> None:
    with pytest.raises(SensitiveContentError):
        playback_argument([Prompt("you_entered"), sensitive], EN)


def test_playback_argument_accepts_digits_marked_not_sensitive() -> None:
    argument = playback_argument([Prompt("card_ending_in"), SayDigits("1111", sensitive=False)], EN)
    assert argument.endswith("!digits/1.wav!digits/1.wav!digits/1.wav!digits/1.wav")


@pytest.mark.parametrize("language", ALL, ids=lambda lang: lang.tag)
def test_every_named_unit_has_words(language: Language) -> None:
    keys = {u.major for u in NAMED_UNITS.values()} | {
        u.minor for u in NAMED_UNITS.values() if u.minor
    }
    assert set(language.units) == keys


@pytest.mark.parametrize("code", sorted(NAMED_UNITS))
def test_named_currencies_have_a_minor_unit_exactly_when_iso_4217_has_one(code: str) -> None:
    assert (NAMED_UNITS[code].minor is None) == (exponent(code) == 0)


@pytest.mark.parametrize("language", ALL, ids=lambda lang: lang.tag)
def test_every_iso_4217_currency_is_speakable(language: Language) -> None:
    for currency in Currency:
        assert render([SayAmount(123456, currency.code)], language)


@given(
    language=st.sampled_from(ALL),
    minor=st.integers(0, 10**11),
    currency=st.sampled_from([c.code for c in Currency]),
)
def test_amounts_only_use_recorded_fragments(language: Language, minor: int, currency: str) -> None:
    # render() itself refuses a fragment outside the vocabulary; here it must never need to.
    for piece in render([SayAmount(minor, currency)], language):
        assert isinstance(piece, Fragment)
        assert piece.name in language.vocabulary()


@given(
    language=st.sampled_from(ALL),
    value=st.integers(0, MAX_NUMBER),
    month=st.integers(1, 12),
    year=st.integers(0, 99999),
    text=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz0123456789-_ ", max_size=12),
)
def test_numbers_dates_and_characters_only_use_recorded_fragments(
    language: Language, value: int, month: int, year: int, text: str
) -> None:
    utterances: list[Utterance] = [
        SayNumber(value),
        SayMonthYear(month, year),
        SayCharacters(text),
    ]
    vocabulary = language.vocabulary()
    for piece in render(utterances, language):
        assert not isinstance(piece, Fragment) or piece.name in vocabulary


def test_every_vocabulary_fragment_can_be_rendered() -> None:
    # The converse: nothing is recorded that no utterance can say (no dead audio).
    for language in ALL:
        heard: set[str] = set()
        utterances: list[Utterance] = [
            *(SayNumber(n) for n in range(1000)),
            *(SayNumber(n * 1000) for n in range(1, 1000)),
            SayNumber(10**6),
            SayNumber(2 * 10**6),
            SayNumber(10**9),
            *(SayMonthYear(m, 1905) for m in range(1, 13)),
            SayCharacters("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
            *(SayAmount(m, c) for c in NAMED_UNITS for m in (1, 2, 101, 2100, 2121, 10**8)),
            *(SayAmount(m * 100 + m, "GBP") for m in range(1, 1000)),
            *(SayAmount(m * 100_000, "GBP") for m in range(1, 1000)),
            SayAmount(101, "CHF"),
        ]
        for piece in render(utterances, language):
            if isinstance(piece, Fragment):
                heard.add(piece.name)
        assert set(language.vocabulary()) - heard == set()
