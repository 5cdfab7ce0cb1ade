"""Gateway fixtures: a shared HTTP session, a REST endpoint and a real localstripe server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from tests.gateways.processor import Processor
from tests.gateways.stripe_proxy import StripeProxy

# localstripe as a real server, minus its habit of pickling every object (card
# numbers included) to /tmp/localstripe.pickle after each write: that file is
# shared by everyone on the machine and would race between parallel runs.
LOCALSTRIPE = """
import sys
import localstripe.resources as resources
resources.Store.dump_to_disk = lambda self: None
sys.argv = ["localstripe", "--port", sys.argv[1], "--from-scratch"]
from localstripe.server import start
start()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """The base URL of a localstripe server started for this test session."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", LOCALSTRIPE, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("localstripe did not start")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(10)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def processor() -> AsyncIterator[Processor]:
    endpoint = Processor()
    runner = await endpoint.start()
    yield endpoint
    await runner.cleanup()


@pytest.fixture
async def stripe_proxy(localstripe: str) -> AsyncIterator[StripeProxy]:
    """localstripe behind a recording proxy (see tests/gateways/stripe_proxy.py)."""
    async with aiohttp.ClientSession() as upstream:
        proxy = StripeProxy(localstripe, upstream)
        runner = await proxy.start()
        yield proxy
        await runner.cleanup()
