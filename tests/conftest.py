"""Shared test fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.gateways.localstripe import running_localstripe
from tests.gateways.processor import Processor
from tests.gateways.stripe_proxy import StripeProxy
from tests.ledger.postgres import PostgresCluster, find_bindir

REPO = Path(__file__).resolve().parent.parent
SHARED_ESL = REPO.parent / "shared" / "esl"


@pytest.fixture(scope="session")
def shared_esl() -> Path:
    """The real FreeSWITCH captures (``../shared/esl`` beside the checkout)."""
    if not SHARED_ESL.is_dir():
        pytest.skip(f"real ESL captures not found at {SHARED_ESL}")
    return SHARED_ESL


@pytest.fixture(scope="session")
def postgresql_cluster() -> Iterator[PostgresCluster]:
    """One throw-away cluster for the session (ledger, reporting and end-to-end tests);
    skipped only if PostgreSQL is not installed."""
    bindir = find_bindir()
    if bindir is None:
        pytest.skip(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
            "(install the Debian package 'postgresql', as .ci/run does)"
        )
    cluster = PostgresCluster.start(bindir)
    yield cluster
    cluster.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """One HTTP client session, as the daemon shares one between its gateways."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def processor() -> AsyncIterator[Processor]:
    """The REST connector's test endpoint, a real aiohttp server (tests/gateways/processor.py)."""
    endpoint = Processor()
    runner = await endpoint.start()
    yield endpoint
    await runner.cleanup()


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """The base URL of a localstripe server started for this test session."""
    with running_localstripe() as url:
        yield url


@pytest.fixture
async def stripe_proxy(localstripe: str) -> AsyncIterator[StripeProxy]:
    """localstripe behind a recording proxy (see tests/gateways/stripe_proxy.py)."""
    async with aiohttp.ClientSession() as upstream:
        proxy = StripeProxy(localstripe, upstream)
        runner = await proxy.start()
        yield proxy
        await runner.cleanup()
