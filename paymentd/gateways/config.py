"""The ``[gateway]`` section of the configuration and its per-provider sub-sections.

Secrets (API keys, signing secrets, passwords, tokens) are kept out of ``repr``
so that printing or logging a configuration cannot reveal them.
"""

from __future__ import annotations

import attrs

from paymentd.settings import InvalidSetting

__all__ = ["GatewayConfig", "RestConfig", "SandboxConfig", "StripeConfig"]

KINDS = ("sandbox", "stripe", "rest")
SANDBOX_FAULTS = ("none", "timeout", "lost-answer")


def _positive(key: str, value: float) -> None:
    if value <= 0:
        raise InvalidSetting(key, f"must be greater than 0, got {value!r}")


@attrs.frozen
class SandboxConfig:
    """The built-in sandbox: outcomes chosen by the published test card numbers."""

    #: Seconds before each answer, to make demos and load tests realistic.
    latency_seconds: float = 0.3
    #: ``timeout``: requests are lost (nothing charged, no answer); ``lost-answer``: the
    #: charge is made but the answer never arrives. Either way the charge times out.
    fault: str = "none"
    #: A file keeping the sandbox's charges across restarts (crash tests); none: in memory.
    state_path: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.latency_seconds < 0:
            raise InvalidSetting(
                "latency_seconds", f"must not be negative, got {self.latency_seconds!r}"
            )
        if self.fault not in SANDBOX_FAULTS:
            raise InvalidSetting(
                "fault", f"must be one of {', '.join(SANDBOX_FAULTS)}; got {self.fault!r}"
            )


@attrs.frozen
class StripeConfig:
    """Stripe (MOTO PaymentIntents on a tokenized card)."""

    api_key: str | None = attrs.field(default=None, repr=False)
    api_base: str = "https://api.stripe.com"
    #: Pages of 100 recent PaymentIntents scanned when the search API cannot find one.
    lookup_pages: int = 5

    def __attrs_post_init__(self) -> None:
        if not self.api_base.startswith(("https://", "http://")):
            raise InvalidSetting("api_base", f"must be an http(s) URL, got {self.api_base!r}")
        if self.lookup_pages < 1:
            raise InvalidSetting("lookup_pages", f"must be at least 1, got {self.lookup_pages!r}")


@attrs.frozen
class RestConfig:
    """A merchant endpoint speaking the Twilio Generic Pay Connector's JSON."""

    url: str | None = None
    #: Where lookups go (default: ``url``).
    lookup_url: str | None = None
    #: Signs every request (HMAC-SHA256 over timestamp and body).
    signing_secret: str | None = attrs.field(default=None, repr=False)
    bearer_token: str | None = attrs.field(default=None, repr=False)
    basic_username: str | None = None
    basic_password: str | None = attrs.field(default=None, repr=False)
    #: Client certificate and key (PEM files) for mutual TLS.
    client_cert: str | None = None
    client_key: str | None = None
    #: CA bundle to verify the endpoint (default: the system's).
    ca_file: str | None = None

    def __attrs_post_init__(self) -> None:
        for key in ("url", "lookup_url"):
            value = getattr(self, key)
            if value is not None and not value.startswith(("https://", "http://")):
                raise InvalidSetting(key, f"must be an http(s) URL, got {value!r}")
        if self.bearer_token and self.basic_username:
            raise InvalidSetting(
                "bearer_token", "use either bearer_token or basic_username, not both"
            )
        if (self.basic_username is None) != (self.basic_password is None):
            raise InvalidSetting("basic_password", "basic_username and basic_password go together")
        if self.client_key and not self.client_cert:
            raise InvalidSetting("client_key", "needs client_cert")


@attrs.frozen
class GatewayConfig:
    """Which payment gateway charges, and how patiently."""

    kind: str = "sandbox"
    #: Seconds to wait for any one gateway request before its outcome is unknown.
    timeout_seconds: float = 20.0
    #: After a timeout: look the attempt up this many times, this far apart.
    lookup_attempts: int = 3
    lookup_interval_seconds: float = 2.0
    #: At start-up, an attempt younger than this that the gateway has no record of may
    #: still be on its way; recovery waits this long before calling it "not charged".
    settle_seconds: float = 60.0
    #: While running, look again this often at attempts flagged for reconciliation and
    #: at those a dead daemon sharing the ledger left pending (0: only at start-up).
    reconcile_interval_seconds: float = 300.0
    sandbox: SandboxConfig = attrs.Factory(SandboxConfig)
    stripe: StripeConfig = attrs.Factory(StripeConfig)
    rest: RestConfig = attrs.Factory(RestConfig)

    def __attrs_post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidSetting("kind", f"must be one of {', '.join(KINDS)}; got {self.kind!r}")
        _positive("timeout_seconds", self.timeout_seconds)
        if self.lookup_attempts < 1:
            raise InvalidSetting(
                "lookup_attempts", f"must be at least 1, got {self.lookup_attempts!r}"
            )
        if self.lookup_interval_seconds < 0:
            raise InvalidSetting(
                "lookup_interval_seconds",
                f"must not be negative, got {self.lookup_interval_seconds!r}",
            )
        if self.reconcile_interval_seconds < 0:
            raise InvalidSetting(
                "reconcile_interval_seconds",
                f"must not be negative, got {self.reconcile_interval_seconds!r}",
            )
        if self.settle_seconds < 0:
            raise InvalidSetting(
                "settle_seconds", f"must not be negative, got {self.settle_seconds!r}"
            )
        if self.kind == "stripe" and not self.stripe.api_key:
            raise InvalidSetting("stripe.api_key", 'is required when kind = "stripe"')
        if self.kind == "rest" and not self.rest.url:
            raise InvalidSetting("rest.url", 'is required when kind = "rest"')
