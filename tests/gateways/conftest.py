"""Gateway fixtures: a shared HTTP session, a REST endpoint and a real localstripe server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from tests.gateways.localstripe import running_localstripe
from tests.gateways.stripe_proxy import StripeProxy


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
