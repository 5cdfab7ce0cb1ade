"""Agent-mode fixtures: every test's event streams are scanned for card data."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.agent.harness import AgentWorld, Desk, card_data_in_stream

WorldFactory = Callable[..., Awaitable[AgentWorld]]

#: Every desk opened by the running test (their streams are scanned at its end).
DESKS: list[Desk] = []


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[AgentWorld]:
    world = await AgentWorld.start(tmp_path)
    yield world
    await world.close()
    assert world.card_numbers_inside_freeswitch() == []


@pytest.fixture
async def make_world(tmp_path: Path) -> AsyncIterator[WorldFactory]:
    """A world with other settings: ``await make_world(agent={...}, secure_extension=False)``."""
    worlds: list[AgentWorld] = []

    async def make(**options: Any) -> AgentWorld:
        world = await AgentWorld.start(tmp_path / f"world-{len(worlds)}", **options)
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        await world.close()
    for world in worlds:
        assert world.card_numbers_inside_freeswitch() == []


def open_desk(port: int, **options: Any) -> Desk:
    """A desk whose streams the card-data scan reads at the end of the test."""
    desk = Desk(port, **options)
    DESKS.append(desk)
    return desk


@pytest.fixture
async def desk(world: AgentWorld) -> Desk:
    return open_desk(world.api_port)


@pytest.fixture(autouse=True)
async def no_card_data_in_event_streams() -> AsyncIterator[None]:
    """Every stream any desk read in this test: zero card data."""
    DESKS.clear()
    yield
    desks = list(DESKS)
    DESKS.clear()
    for desk in desks:
        await desk.close()
    found = [hit for d in desks for stream in d.streams for hit in card_data_in_stream(stream)]
    assert not found, found
