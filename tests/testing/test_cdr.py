"""``digits_dialed`` and the CDR variables, as FreeSWITCH computes them at reporting."""

from __future__ import annotations

import pytest

from paymentd.testing.cdr import cdr_variables, mask_digits_dialed, q850
from paymentd.testing.profile import CallerProfile

CARD = "4111111111111111"


@pytest.mark.parametrize(
    ("keys", "pattern", "dialed"),
    [
        # Scenario 13: the card alone, masked by (\d+); # and * are not digits.
        (f"{CARD}#", r"(\d+)", "XXXXXXXXXXXXXXXX#"),
        (f"{CARD}#*", r"(\d+)", "XXXXXXXXXXXXXXXX#*"),
        ("12*", r"(\d+)", "XX*"),
        # 13g: only the first run is matched; the card after a menu key stays in clear.
        (f"2#{CARD}#", r"(\d+)", f"X#{CARD}#"),
        (f"2#{CARD}#", r"(\d{13,19})", "2#XXXXXXXXXXXXXXXX#"),
        # ...but every occurrence of the matched text is masked, wherever it is.
        ("12#3412#", r"(\d+)", "XX#34XX#"),
        # The whole string, as recommended.
        (f"2#{CARD}#5555555555554444#", ".+", "X" * 36),
        # No filter, no match, no keys.
        (f"{CARD}#", None, f"{CARD}#"),
        ("#", r"(\d+)", "#"),
        ("", r"(\d+)", "none"),
    ],
)
def test_digits_dialed_masking(keys: str, pattern: str | None, dialed: str) -> None:
    assert mask_digits_dialed(keys, pattern) == dialed


def test_cdr_variables_follow_the_timetable() -> None:
    profile = CallerProfile("u", "loopback/7777-b", "7777")
    start = 1_795_789_216_405_638
    profile.times.created = profile.times.profile_created = start
    profile.times.answered = start + 40_000
    profile.times.hungup = start + 6_620_070
    values = dict(cdr_variables(profile, "playback", "hello.wav"))
    names = [name for name, _ in cdr_variables(profile, "playback", "hello.wav")]
    assert names[:4] == ["start_stamp", "profile_start_stamp", "answer_stamp", "end_stamp"]
    assert names[-1] == "flow_billusec"
    assert values["duration"] == "6"
    assert values["mduration"] == "6620"
    assert values["billmsec"] == "6580"
    assert values["answermsec"] == "40"
    assert values["progresssec"] == "0"
    assert values["last_app"] == "playback"
    assert values["caller_id"] == "0000000000"
    assert q850("NORMAL_CLEARING") == 16
    assert q850("DESTINATION_OUT_OF_ORDER") == 27
