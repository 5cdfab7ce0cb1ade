"""The [gateway] section: defaults, validation that names the key, secrets out of repr."""

from __future__ import annotations

import pytest

from paymentd.config import Config, ConfigError, parse_config


def test_defaults_are_the_sandbox() -> None:
    gateway = Config().gateway
    assert gateway.kind == "sandbox"
    assert gateway.sandbox.fault == "none"
    assert gateway.timeout_seconds > 0


def test_a_full_rest_section() -> None:
    gateway = parse_config(
        {
            "gateway": {
                "kind": "rest",
                "timeout_seconds": 8,
                "lookup_attempts": 5,
                "rest": {
                    "url": "https://pay.example.com/charge",
                    "lookup_url": "https://pay.example.com/lookup",
                    "signing_secret": "s3cret-signing",
                    "basic_username": "shop",
                    "basic_password": "s3cret-password",
                    "client_cert": "/etc/paymentd/client.pem",
                    "client_key": "/etc/paymentd/client.key",
                },
            }
        }
    ).gateway
    assert (gateway.timeout_seconds, gateway.lookup_attempts) == (8.0, 5)
    assert gateway.rest.lookup_url == "https://pay.example.com/lookup"
    text = repr(gateway)
    assert "s3cret" not in text
    assert "shop" in text


def test_stripe_key_stays_out_of_repr() -> None:
    config = parse_config({"gateway": {"kind": "stripe", "stripe": {"api_key": "sk_live_s3cret"}}})
    assert "sk_live_s3cret" not in repr(config)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"kind": "paypal"}, "gateway.kind: must be one of sandbox, stripe, rest; got 'paypal'"),
        ({"kind": "stripe"}, 'gateway.stripe.api_key: is required when kind = "stripe"'),
        ({"kind": "rest"}, 'gateway.rest.url: is required when kind = "rest"'),
        ({"timeout_seconds": 0}, "gateway.timeout_seconds: must be greater than 0, got 0.0"),
        ({"lookup_attempts": 0}, "gateway.lookup_attempts: must be at least 1, got 0"),
        ({"sandbox": {"fault": "fire"}}, "gateway.sandbox.fault: must be one of"),
        ({"sandbox": {"latency_seconds": -1}}, "gateway.sandbox.latency_seconds: must not be"),
        ({"rest": {"url": "ftp://x"}}, "gateway.rest.url: must be an http(s) URL"),
        ({"rest": {"basic_username": "u"}}, "gateway.rest.basic_password: basic_username and"),
        (
            {"rest": {"bearer_token": "t", "basic_username": "u", "basic_password": "p"}},
            "gateway.rest.bearer_token: use either",
        ),
        ({"rest": {"client_key": "k.pem"}}, "gateway.rest.client_key: needs client_cert"),
        ({"stripe": {"api_base": "stripe.com"}}, "gateway.stripe.api_base: must be an http(s)"),
        ({"retries": 3}, "gateway: unknown key(s): retries"),
    ],
)
def test_invalid_settings_name_their_key(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"gateway": section}, "paymentd.toml")
    assert f"paymentd.toml: {message}" in str(info.value)
