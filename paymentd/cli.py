"""The ``paymentd`` command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence

import attrs

from paymentd import __version__
from paymentd.config import Config, ConfigError, ListenAddress, load_config

__all__ = ["main"]

#: Subcommands contributed by other rooms: (name, help, configure-parser, run) -> exit code.
Subcommand = tuple[
    str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]
]


def _listen(text: str) -> ListenAddress:
    try:
        return ListenAddress.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _load(path: str | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"paymentd: configuration error\n{exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _serve(args: argparse.Namespace) -> int:
    from paymentd.app import run_daemon

    config = _load(args.config)
    if args.esl_listen is not None:
        config = attrs.evolve(config, esl=attrs.evolve(config.esl, listen=args.esl_listen))
    if args.http_listen is not None:
        config = attrs.evolve(config, http=attrs.evolve(config.http, listen=args.http_listen))
    return asyncio.run(run_daemon(config))


def _check_config(args: argparse.Namespace) -> int:
    from paymentd.app import preflight

    config = _load(args.file)
    problems = preflight(config)
    if problems:
        print(f"paymentd: {args.file} is not usable:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    print(f"{args.file}: OK")
    return 0


def _subcommands() -> list[Subcommand]:
    """Subcommands that live beside the rooms they serve."""
    found: list[Subcommand] = []
    for module_name in (
        "paymentd.config_doc",
        "paymentd.ledger.cli",
        "paymentd.demo",
        "paymentd.reporting.cli",
    ):
        try:
            module = __import__(module_name, fromlist=["SUBCOMMAND"])
        except ModuleNotFoundError as exc:
            if exc.name is not None and module_name.startswith(exc.name):
                continue
            raise
        found.append(module.SUBCOMMAND)
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paymentd",
        description="PCI-minded payment-capture IVR for FreeSWITCH.",
    )
    parser.add_argument("--version", action="version", version=f"paymentd {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the daemon")
    serve.add_argument("--config", metavar="FILE", help="TOML configuration (default: built-in)")
    serve.add_argument(
        "--esl-listen",
        metavar="HOST:PORT",
        type=_listen,
        help="where FreeSWITCH's socket app connects (default 127.0.0.1:8084)",
    )
    serve.add_argument(
        "--http-listen",
        metavar="HOST:PORT",
        type=_listen,
        help="health, metrics and API (default 127.0.0.1:8088)",
    )
    serve.set_defaults(run=_serve)

    check = commands.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("file", metavar="FILE")
    check.set_defaults(run=_check_config)

    for name, help_text, configure, run in _subcommands():
        sub = commands.add_parser(name, help=help_text)
        configure(sub)
        sub.set_defaults(run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130
