"""Agent-mode fixtures: every test's event streams are scanned for card data."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.agent.harness import AgentWorld, Desk, card_data_in_stream

#: Every desk opened by the running test (their streams are scanned at its end).
DESKS: list[Desk] = []


@pytest.fixture
async def world(tmp_path: object) -> AsyncIterator[AgentWorld]:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    world = await AgentWorld.start(tmp_path)
    yield world
    await world.close()


@pytest.fixture
async def desk(world: AgentWorld) -> AsyncIterator[Desk]:
    desk = Desk(world.api_port)
    DESKS.append(desk)
    yield desk
    await desk.close()


@pytest.fixture(autouse=True)
def no_card_data_in_event_streams() -> object:
    """Every stream any desk read in this test: zero card data."""
    DESKS.clear()
    yield
    streams = [stream for desk in DESKS for stream in desk.streams]
    DESKS.clear()
    found = [hit for stream in streams for hit in card_data_in_stream(stream)]
    assert not found, found
