"""The [agent] section: strict, with messages that name the key and never a token."""

from __future__ import annotations

from pathlib import Path

import pytest

from paymentd.agent.service import AgentService
from paymentd.config import ConfigError, parse_config
from paymentd.metrics import Metrics

TOKEN = "t" * 32


def agent(**values: object) -> dict[str, object]:
    return {"agent": values}


def test_defaults_detach_and_mute_on_loopback() -> None:
    config = parse_config({})
    assert config.agent.default_mode == "detach"
    assert config.agent.modes == ("detach", "mute")
    assert str(config.agent.address) == "127.0.0.1:8090"
    assert not config.agent.tls


def test_agent_mode_without_a_token_cannot_start() -> None:
    assert parse_config({}).agent.problems() == [
        "agent.tokens: agent mode needs at least one API token"
    ]
    assert parse_config(agent(tokens=[TOKEN])).agent.problems() == []


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"tokens": ["short-token"]}, "agent.tokens: token #1 is shorter than 24 characters"),
        ({"tokens": [TOKEN, TOKEN]}, "agent.tokens: lists a token twice"),
        ({"tokens": [TOKEN + " x"]}, "agent.tokens: token #1 must be printable ASCII"),
        ({"tls_cert": "/x.pem"}, "agent.tls_cert: tls_cert and tls_key go together"),
        ({"default_mode": "mute", "modes": ["detach"]}, "agent.default_mode: 'mute' is not in"),
        ({"modes": ["whisper"]}, "agent.modes: unknown mode 'whisper'"),
        ({"secure_extension": "pay secure"}, "agent.secure_extension: must be one dialplan word"),
        ({"listen": "nowhere"}, "agent.listen: expected HOST:PORT"),
        ({"hold_audio": "a b.wav"}, "agent.hold_audio: must not contain spaces"),
        # FreeSWITCH would report it as <sound_prefix>/music/hold.wav: never matched, never
        # started again.
        ({"hold_audio": "music/hold.wav"}, "agent.hold_audio: must be an absolute path"),
        ({"hold_audio": "{loops=2}hold.wav"}, "agent.hold_audio: must be an absolute path"),
        ({"arrival_timeout": 0}, "agent.arrival_timeout: must be greater than 0"),
        # 0 would unmute the agent; 2 is near full-scale white noise; past 32768 uuid_audio's
        # atoi may wrap round to a loud level.
        ({"mute_level": 0}, "agent.mute_level: must be 1 (silence) or 1400 to 32768"),
        ({"mute_level": 2}, "agent.mute_level: must be 1 (silence) or 1400 to 32768"),
        ({"mute_level": 1399}, "agent.mute_level: must be 1 (silence) or 1400 to 32768"),
        ({"mute_level": 2**32 + 2}, "agent.mute_level: must be 1 (silence) or 1400 to 32768"),
        ({"tokenz": [TOKEN]}, "agent: unknown key(s): tokenz"),
    ],
)
def test_bad_settings_are_named(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(agent(**values))
    assert message in str(caught.value)
    assert "short-token" not in str(caught.value)
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize("level", [1, 1400, 32768])
def test_mute_level_is_silence_or_quiet_comfort_noise(level: int) -> None:
    assert parse_config(agent(mute_level=level)).agent.mute_level == level


@pytest.mark.parametrize(
    "path", ["/srv/hold.wav", "{volume=-6}/srv/hold.wav", "local_stream://moh", "shout://h/x.mp3"]
)
def test_hold_audio_freeswitch_plays_as_given(path: str) -> None:
    assert parse_config(agent(hold_audio=path)).agent.hold_audio == path


def test_the_default_hold_audio_is_absolute_under_a_relative_sounds_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = parse_config({"sounds": {"directory": "sounds"}, "agent": {"tokens": [TOKEN]}})
    hold = AgentService(config, Metrics()).mover.hold_audio
    assert hold == str(tmp_path / "sounds" / "music" / "8000" / "paymentd_hold.wav")


def test_tokens_stay_out_of_repr() -> None:
    config = parse_config(agent(tokens=[TOKEN]))
    assert TOKEN not in repr(config)


def test_missing_tls_files_are_reported() -> None:
    config = parse_config(
        agent(tokens=[TOKEN], tls_cert="/nonexistent.crt", tls_key="/nonexistent.key")
    )
    assert config.agent.tls
    assert config.agent.problems() == [
        "agent.tls_cert: no such file: /nonexistent.crt",
        "agent.tls_key: no such file: /nonexistent.key",
    ]
