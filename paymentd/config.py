"""Configuration: one TOML file loaded into frozen attrs classes.

Every setting has a default, so paymentd runs with no file at all.  Unknown
keys and values of the wrong type are errors that name the file and the key
(``paymentd.toml: esl.linger_seconds: expected an integer, got 'x'``).

Each room of the daemon owns its section class (the dialogue its own, the
gateways theirs); :class:`Config` only puts them together.
"""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path
from typing import Any, TypeVar

import attrs
import cattrs

from paymentd.agent.config import AgentConfig
from paymentd.capture.config import CaptureConfig
from paymentd.gateways.config import GatewayConfig
from paymentd.hangup_causes import HANGUP_CAUSES, unknown_cause_message
from paymentd.ledger.config import LedgerConfig
from paymentd.reporting.config import ReportingConfig
from paymentd.settings import InvalidSetting, non_negative, one_of, positive

__all__ = [
    "Config",
    "ConfigError",
    "EslConfig",
    "HttpConfig",
    "InboundEslConfig",
    "InvalidSetting",
    "ListenAddress",
    "LoggingConfig",
    "SoundsConfig",
    "load_config",
    "parse_config",
]

T = TypeVar("T")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file and every bad key."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


@attrs.frozen
class ListenAddress:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> ListenAddress:
        """``HOST:PORT``, ``[v6]:PORT`` or ``:PORT`` (all interfaces)."""
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"expected HOST:PORT, got {text!r}")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        number = int(port)
        if not 0 <= number <= 65535:
            raise ValueError(f"port {number} is out of range")
        return cls(host or "0.0.0.0", number)

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def _check_networks(_inst: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for item in value:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError as exc:
            raise InvalidSetting(attribute.name, str(exc)) from None


def _check_cause(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value.upper() not in HANGUP_CAUSES:
        raise InvalidSetting(attribute.name, unknown_cause_message(value))


@attrs.frozen
class EslConfig:
    """The outbound Event Socket server FreeSWITCH's ``socket`` app connects to."""

    listen: ListenAddress = ListenAddress("127.0.0.1", 8084)
    #: Peers allowed to connect (addresses or networks); a call from anyone else is refused
    #: (handed back to its dialplan with connect and resume only) and logged.
    allowed_peers: tuple[str, ...] = attrs.field(
        default=("127.0.0.1/32", "::1/128"), validator=_check_networks
    )
    #: Seconds FreeSWITCH keeps the socket open after hang-up so the last events arrive.
    linger_seconds: int = attrs.field(default=10, validator=positive)
    max_linger_seconds: int = attrs.field(default=60, validator=positive)
    max_header_bytes: int = attrs.field(default=64 * 1024, validator=positive)
    max_content_length: int = attrs.field(default=16 * 1024 * 1024, validator=positive)
    #: Events buffered per call; on overflow the call is hung up (a stalled call is unsafe).
    event_queue_size: int = attrs.field(default=1000, validator=positive)
    #: Seconds to wait for any single command's reply before the call is given up.
    command_timeout: float = attrs.field(default=10.0, validator=positive)
    #: Seconds live calls get to finish after SIGTERM before they are hung up.
    shutdown_grace_seconds: float = attrs.field(default=30.0, validator=non_negative)
    #: The hang-up cause of calls still up when the grace period ends (a FreeSWITCH cause
    #: name, as in switch_channel.c's CAUSE_CHART: SYSTEM_SHUTDOWN, NORMAL_CLEARING, ...).
    shutdown_hangup_cause: str = attrs.field(default="SYSTEM_SHUTDOWN", validator=_check_cause)

    def __attrs_post_init__(self) -> None:
        if self.linger_seconds > self.max_linger_seconds:
            raise InvalidSetting(
                "linger_seconds",
                f"{self.linger_seconds} exceeds max_linger_seconds ({self.max_linger_seconds})",
            )


@attrs.frozen
class InboundEslConfig:
    """paymentd's own connection to FreeSWITCH's event socket (agent mode)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8021
    password: str = attrs.field(default="ClueCon", repr=False)
    connect_timeout: float = attrs.field(default=5.0, validator=positive)
    reconnect_min_seconds: float = attrs.field(default=0.5, validator=positive)
    reconnect_max_seconds: float = attrs.field(default=30.0, validator=positive)
    command_timeout: float = attrs.field(default=10.0, validator=positive)


@attrs.frozen
class HttpConfig:
    """The HTTP server: ``/healthz``, ``/metrics`` and (later) the agent API."""

    listen: ListenAddress = ListenAddress("127.0.0.1", 8088)


@attrs.frozen
class SoundsConfig:
    """Where the recorded prompts are, for paymentd and for FreeSWITCH.

    FreeSWITCH plays them by path (``sound_prefix``), so it must see the same
    directory, and the one-time read-back files (which paymentd writes and
    FreeSWITCH reads): run both on one host, or share both directories.
    """

    #: The ``sounds/`` tree (``<lang>/<region>/<voice>/...``); empty: the checkout's ``sounds/``.
    directory: str = ""
    #: Private directory for one-time read-back audio; empty: ``/dev/shm/paymentd-<uid>``.
    readback_directory: str = ""


@attrs.frozen
class LoggingConfig:
    level: str = attrs.field(default="info", validator=one_of("debug", "info", "warning", "error"))
    format: str = attrs.field(default="json", validator=one_of("json", "keyvalue"))


@attrs.frozen
class Config:
    """The whole configuration."""

    esl: EslConfig = attrs.Factory(EslConfig)
    inbound: InboundEslConfig = attrs.Factory(InboundEslConfig)
    http: HttpConfig = attrs.Factory(HttpConfig)
    logging: LoggingConfig = attrs.Factory(LoggingConfig)
    sounds: SoundsConfig = attrs.Factory(SoundsConfig)
    capture: CaptureConfig = attrs.Factory(CaptureConfig)
    gateway: GatewayConfig = attrs.Factory(GatewayConfig)
    ledger: LedgerConfig = attrs.Factory(LedgerConfig)
    reporting: ReportingConfig = attrs.Factory(ReportingConfig)
    agent: AgentConfig = attrs.Factory(AgentConfig)


def _strict_converter() -> cattrs.Converter:
    """A converter that takes TOML values as they are: no silent ``"5"`` -> 5 or 5.7 -> 5."""
    conv = cattrs.Converter(forbid_extra_keys=True)

    def exact(kind: type[T], label: str) -> Any:
        def structure(value: Any, _type: Any) -> T:
            if type(value) is not kind:
                raise ValueError(f"expected {label}, got {value!r}")
            return value

        return structure

    conv.register_structure_hook(int, exact(int, "an integer"))
    conv.register_structure_hook(str, exact(str, "a string"))
    conv.register_structure_hook(bool, exact(bool, "true or false"))

    def number(value: Any, _type: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number, got {value!r}")
        return float(value)

    conv.register_structure_hook(float, number)

    def listen(value: Any, _type: Any) -> ListenAddress:
        if not isinstance(value, str):
            raise ValueError(f"expected a string HOST:PORT, got {value!r}")
        return ListenAddress.parse(value)

    conv.register_structure_hook(ListenAddress, listen)
    conv.register_unstructure_hook(ListenAddress, str)

    def sequence(value: Any, type_: Any) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise ValueError(f"expected a list, got {value!r}")
        (item_type, *_rest) = type_.__args__
        return tuple(conv.structure(v, item_type) for v in value)

    conv.register_structure_hook_func(lambda t: getattr(t, "__origin__", None) is tuple, sequence)
    return conv


_CONVERTER = _strict_converter()


def converter() -> cattrs.Converter:
    """The shared strict converter, for sections that register hooks of their own."""
    return _CONVERTER


def parse_config(data: dict[str, Any], source: str = "<config>") -> Config:
    """Build a :class:`Config` from already-parsed TOML data."""
    try:
        return _CONVERTER.structure(data, Config)
    except Exception as exc:  # cattrs raises exception groups; flatten them into lines
        raise ConfigError(source, _problems(exc)) from None


def _problems(exc: BaseException) -> list[str]:
    if isinstance(exc, cattrs.BaseValidationError):
        lines = cattrs.transform_error(exc, path="$", format_exception=_format)
        return [_relocate(line) for line in lines]
    return [str(exc)]


def _format(exc: BaseException, type_: Any) -> str:
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return f"unknown key(s): {', '.join(sorted(exc.extra_fields))}"
    if isinstance(exc, KeyError):
        return f"required key missing: {exc}"
    if isinstance(exc, InvalidSetting):
        return f"{str(exc) or 'invalid value'} @@{exc.key}"
    return str(exc) or type(exc).__name__


def _relocate(line: str) -> str:
    """``"message @ $.esl.port"`` -> ``"esl.port: message"``."""
    message, _, path = line.rpartition(" @ ")
    key = path.removeprefix("$").lstrip(".")
    message, marker, field = message.rpartition(" @@")
    if not marker:
        message = field
    elif field:
        key = f"{key}.{field}" if key else field
    return f"{key}: {message}" if key else message


def load_config(path: str | Path | None) -> Config:
    """Read ``path`` (or return the embedded defaults when ``path`` is None)."""
    if path is None:
        return Config()
    source = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(source, [f"cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise ConfigError(source, ["not UTF-8 text"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"not valid TOML: {exc}"]) from None
    return parse_config(data, source)
