"""The [ledger] section."""

from __future__ import annotations

import pytest

from paymentd.config import Config, ConfigError, parse_config


def test_default_is_an_sqlite_file() -> None:
    ledger = Config().ledger
    assert (ledger.kind, ledger.path) == ("sqlite", "var/ledger.sqlite3")


def test_postgresql_dsn_stays_out_of_repr() -> None:
    config = parse_config(
        {"ledger": {"kind": "postgresql", "dsn": "postgresql://pay:s3cret@db/ledger"}}
    )
    assert config.ledger.dsn == "postgresql://pay:s3cret@db/ledger"
    assert "s3cret" not in repr(config)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"kind": "mysql"}, "ledger.kind: must be one of sqlite, postgresql; got 'mysql'"),
        ({"kind": "postgresql"}, 'ledger.dsn: is required when kind = "postgresql"'),
        ({"path": ""}, "ledger.path: must name the SQLite file"),
        ({"pool_size": 0}, "ledger.pool_size: must be at least 1, got 0"),
        ({"path": 7}, "ledger.path: expected a string, got 7"),
    ],
)
def test_invalid_settings_name_their_key(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"ledger": section}, "paymentd.toml")
    assert f"paymentd.toml: {message}" in str(info.value)
