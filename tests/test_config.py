"""Configuration: defaults with no file, strict types, errors naming the file and the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from paymentd.config import Config, ConfigError, ListenAddress, load_config, parse_config
from paymentd.config_doc import config_example


def problems(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "paymentd.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.source == str(path)
    assert str(caught.value).startswith(f"{path}: ")
    return caught.value.problems


def test_no_file_means_the_embedded_defaults() -> None:
    config = load_config(None)
    assert config == Config()
    assert config.esl.listen == ListenAddress("127.0.0.1", 8084)
    assert config.http.listen == ListenAddress("127.0.0.1", 8088)
    assert config.ledger.kind == "sqlite"
    assert config.gateway.kind == "sandbox"


def test_a_full_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "paymentd.toml"
    path.write_text(
        """
[esl]
listen = "[::1]:9084"
allowed_peers = ["10.0.0.0/8"]
linger_seconds = 5

[capture]
currencies = ["USD", "EUR"]
card_fields_by_brand = { amex = ["expiry", "cvv", "postal_code"] }

[capture.amount]
limits = { EUR = { min = "5.00", max = "500.00" } }
"""
    )
    config = load_config(path)
    assert config.esl.listen == ListenAddress("::1", 9084)
    assert str(config.esl.listen) == "[::1]:9084"
    assert config.esl.allowed_peers == ("10.0.0.0/8",)
    assert config.capture.currencies == ("USD", "EUR")
    assert config.capture.amount.limits["EUR"].max == "500.00"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[esl]\nlinger_seconds = 'x'\n", "esl.linger_seconds: expected an integer, got 'x'"),
        ("[esl]\nlinger_seconds = 5.5\n", "esl.linger_seconds: expected an integer, got 5.5"),
        ("[esl]\nlinger_seconds = -1\n", "esl.linger_seconds: must be greater than 0, got -1"),
        ("[esl]\nlisten = 'nope'\n", "esl.listen: expected HOST:PORT, got 'nope'"),
        ("[esl]\nprot = 1\n", "esl: unknown key(s): prot"),
        ("colour = 'blue'\n", "unknown key(s): colour"),
        ("[logging]\nlevel = 'loud'\n", "logging.level: must be one of debug, info, warning"),
        ("[esl]\nallowed_peers = ['1.2.3.4/33']\n", "esl.allowed_peers: '1.2.3.4/33'"),
        ("[esl]\nallowed_peers = 'x'\n", "esl.allowed_peers: expected a list, got 'x'"),
        ("[inbound]\nenabled = 'yes'\n", "inbound.enabled: expected true or false, got 'yes'"),
        ("[capture.card_number]\nmax_attempts = 0\n", "capture.card_number.max_attempts: must"),
        ("[gateway]\nkind = 'paypal'\n", "gateway.kind: must be one of"),
        ("[ledger]\nkind = 'postgresql'\n", "ledger.dsn: is required"),
        ("[esl]\nlinger_seconds = 100\n", "esl.linger_seconds: 100 exceeds max_linger_seconds"),
        (
            "[esl]\nshutdown_hangup_cause = 'SYSTEM_SHUTDWN'\n",
            "esl.shutdown_hangup_cause: not a FreeSWITCH hang-up cause: 'SYSTEM_SHUTDWN' "
            "(did you mean SYSTEM_SHUTDOWN?)",
        ),
    ],
)
def test_bad_values_name_the_file_and_the_key(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(text, tmp_path)
    assert any(p.startswith(expected) for p in found), found


def test_shutdown_hangup_cause_takes_freeswitch_names_in_any_case(tmp_path: Path) -> None:
    path = tmp_path / "paymentd.toml"
    for cause in ("MANAGER_REQUEST", "normal_clearing", "SYSTEM_SHUTDOWN"):
        path.write_text(f"[esl]\nshutdown_hangup_cause = '{cause}'\n")
        assert load_config(path).esl.shutdown_hangup_cause == cause


def test_not_toml_and_not_there_are_clear_errors(tmp_path: Path) -> None:
    assert problems("[esl\n", tmp_path)[0].startswith("not valid TOML")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_config_example_loads_back_into_the_defaults(tmp_path: Path) -> None:
    import tomllib

    assert parse_config(tomllib.loads(config_example())) == Config()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "paymentd", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_config_accepts_a_good_file_and_refuses_a_bad_one(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[esl]\nlinger_seconds = 5\n")
    ok = run("check-config", str(good))
    assert ok.returncode == 0, ok.stderr
    assert f"{good}: OK" in ok.stdout

    bad = tmp_path / "bad.toml"
    bad.write_text("[esl]\nlinger_seconds = 'soon'\n")
    refused = run("check-config", str(bad))
    assert refused.returncode == 2
    assert f"{bad}: esl.linger_seconds: expected an integer" in refused.stderr


def test_check_config_finds_missing_sounds(tmp_path: Path) -> None:
    path = tmp_path / "paymentd.toml"
    path.write_text(f'[sounds]\ndirectory = "{tmp_path / "nowhere"}"\n')
    result = run("check-config", str(path))
    assert result.returncode == 2
    assert "sounds:" in result.stderr


def test_version_and_help() -> None:
    from paymentd import __version__

    assert run("--version").stdout.strip() == f"paymentd {__version__}"
    usage = run("--help").stdout
    for command in ("serve", "check-config", "demo", "ledger", "report", "config-example"):
        assert command in usage


def test_serve_refuses_a_bad_configuration_before_starting(tmp_path: Path) -> None:
    path = tmp_path / "paymentd.toml"
    path.write_text("[http]\nlisten = 8088\n")
    result = run("serve", "--config", str(path))
    assert result.returncode == 2
    assert "http.listen: expected a string HOST:PORT, got 8088" in result.stderr
