"""``paymentd demo``: one simulated call against a running daemon, narrated.

A newcomer without FreeSWITCH sees the product work: the FreeSWITCH simulator
(:mod:`paymentd.testing`) places a call into paymentd's ESL port exactly as the
dialplan ``socket`` app would, a scripted caller answers every prompt with a
public test card, and each step is printed: what the caller heard (the prompt
texts, from the recordings' ``texts.tsv``) and what they keyed.  Read-backs of
card data are played from private one-time files, so the demo can only say
that one was heard; that is the point.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from paymentd.config import ListenAddress
from paymentd.gateways.sandbox import APPROVING_TEST_CARDS, TEST_CARD_OUTCOMES
from paymentd.payments import Declined
from paymentd.speech.languages import find_language
from paymentd.speech.layout import default_sounds_root

__all__ = ["SUBCOMMAND"]

#: How the demo caller answers each prompt: (prompt name, keys).
Plan = list[tuple[str, str]]


def _texts(language_tag: str) -> dict[str, str]:
    """Fragment name -> the words it says, from the voice directory's ``texts.tsv``."""
    voice = default_sounds_root() / find_language(language_tag).voice_path
    texts: dict[str, str] = {}
    path = voice / "texts.tsv"
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#") and "\t" in line:
                name, text = line.split("\t", 1)
                texts[name] = text
    return texts


def describe(argument: str, texts: dict[str, str]) -> str:
    """Turn a ``playback`` argument into the words the caller heard."""
    if argument.startswith("file_string://"):
        parts = argument.removeprefix("file_string://").split("!")
    else:
        parts = [argument]
    words: list[str] = []
    for part in parts:
        if part.startswith("silence_stream://"):
            continue
        if part.startswith("/"):
            words.append("[a read-back of what you keyed, played from a private one-time file]")
            continue
        name = part.removesuffix(".wav")
        words.append(texts.get(name, f"<{name}>"))
    return " ".join(words)


def _plan(args: argparse.Namespace) -> Callable[[str], str | None]:
    answers: Plan = [
        ("press_1_to_pay_amount", "1"),
        ("pay_full_or_other", "1"),
        ("enter_amount", args.amount.replace(".", "*") + "#"),
        ("enter_card_number", args.card + "#"),
        ("enter_expiry", args.expiry),
        ("enter_cvv_4", args.cvv.ljust(4, "0")[:4]),
        ("enter_cvv_3", args.cvv[:3]),
        ("enter_postal_code", args.postal_code + "#"),
        ("confirm_or_reenter", "1"),
    ]

    def answer(argument: str) -> str | None:
        for prompt, keys in answers:
            if f"paymentd/{prompt}.wav" in argument:
                return keys
        return None

    return answer


async def _run_call(args: argparse.Namespace, target: ListenAddress) -> int:
    from paymentd.testing import Caller, FreeSwitchSimulator

    texts = _texts(args.language)
    answer = _plan(args)
    started = time.monotonic()

    def say(line: str) -> None:
        print(f"[{time.monotonic() - started:6.2f}s] {line}", flush=True)

    async def caller_script(caller: Caller) -> None:
        while True:
            try:
                record = await caller.next_prompt(timeout=120)
            except Exception:
                return
            say(f"caller hears: {describe(record.file, texts)}")
            keys = answer(record.file)
            if keys:
                await asyncio.sleep(0.3 * args.time_scale)
                say(f"caller keys:  {keys}")
                await caller.press(keys, gap=0.15 * args.time_scale)

    variables = {
        "paymentd_customer_verified": "true",
        "paymentd_account_id": "DEMO-ACCOUNT",
        "paymentd_reference": "DEMO-INVOICE",
        "paymentd_language": args.language,
        "paymentd_currency": args.currency,
    }
    if not args.caller_keys_amount:
        variables["paymentd_amount"] = args.amount
    async with FreeSwitchSimulator(time_scale=args.time_scale) as simulator:
        say(
            f"calling paymentd at {target} (FreeSWITCH simulator, dialplan `socket ... async full`)"
        )
        call = await simulator.place_call(
            (target.host, target.port), variables=variables, caller=caller_script
        )
        try:
            await call.wait_closed(timeout=600)
        except TimeoutError:
            say("the call did not finish in time")
            return 1
        result = call.result()
        others = simulator.bus_text("ALL")
        events = len(simulator.bus_events("ALL"))
    say("call ended; paymentd set these channel variables:")
    inputs_only = {"paymentd_customer_verified", "paymentd_account_id", "paymentd_reference"}
    for name, value in sorted(result.variables.items()):
        if name.startswith("paymentd_") and name not in inputs_only:
            print(f"    {name} = {value}")
    print(f"    (hang-up cause: {result.hangup_cause})")
    print(
        f"another ESL listener subscribed to ALL saw {events} events; "
        f"the card number appears in them {others.count(args.card)} times."
    )
    return 0 if result.variables.get("paymentd_result") == "success" else 3


def _healthy(http: ListenAddress) -> bool:
    try:
        with urllib.request.urlopen(f"http://{http}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def _spawned_daemon(esl: ListenAddress, http: ListenAddress) -> Iterator[Path]:
    """A throw-away ``paymentd serve`` (temporary ledger) for ``make demo``."""
    with tempfile.TemporaryDirectory(prefix="paymentd-demo-") as workdir:
        log = Path(workdir) / "paymentd.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "paymentd",
                    "serve",
                    "--esl-listen",
                    str(esl),
                    "--http-listen",
                    str(http),
                ],
                cwd=workdir,
                stdout=out,
                stderr=out,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            deadline = time.monotonic() + 30
            while not _healthy(http):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"paymentd did not start:\n{log.read_text()}")
                time.sleep(0.1)
            yield log
        finally:
            process.terminate()
            process.wait(30)


def _run(args: argparse.Namespace) -> int:
    esl: ListenAddress = args.esl
    if args.spawn and not _healthy(args.http):
        with _spawned_daemon(esl, args.http) as log:
            print(f"started a demo daemon (log: {log})", flush=True)
            return asyncio.run(_run_call(args, esl))
    return asyncio.run(_run_call(args, esl))


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--esl",
        type=ListenAddress.parse,
        default=ListenAddress("127.0.0.1", 8084),
        help="the daemon's ESL address (default 127.0.0.1:8084)",
    )
    parser.add_argument(
        "--http",
        type=ListenAddress.parse,
        default=ListenAddress("127.0.0.1", 8088),
        help="the daemon's HTTP address, for --spawn's health check (default 127.0.0.1:8088)",
    )
    parser.add_argument(
        "--spawn",
        action="store_true",
        help="start a throw-away daemon first if none answers (what `make demo` does)",
    )
    parser.add_argument("--amount", default="12.50", help="amount due (default 12.50)")
    parser.add_argument("--currency", default="USD")
    parser.add_argument(
        "--caller-keys-amount", action="store_true", help="let the caller key the amount"
    )
    declined = next(n for n, o in TEST_CARD_OUTCOMES.items() if isinstance(o, Declined))
    parser.add_argument(
        "--card",
        default=APPROVING_TEST_CARDS[0],
        help=f"a public test card (see the README; {declined} is declined)",
    )
    parser.add_argument("--expiry", default="1230", help="MMYY (default 1230)")
    parser.add_argument("--cvv", default="123")
    parser.add_argument("--postal-code", default="12345")
    parser.add_argument("--language", default="en-US", help="en-US or es-US")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=0.25,
        help="simulated FreeSWITCH time per real second (1 = real time; default 0.25)",
    )


SUBCOMMAND = (
    "demo",
    "place one simulated call into a running paymentd and narrate it (no FreeSWITCH needed)",
    _configure,
    _run,
)
