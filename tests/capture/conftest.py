from collections.abc import Iterator

import pytest

from tests.capture.cards import leaks
from tests.capture.harness import RECORDED


@pytest.fixture(autouse=True)
def no_card_data_leaks() -> Iterator[None]:
    """Every test is also a leak test: nothing the dialogue emitted or was fed shows card data."""
    RECORDED.clear()
    yield
    found = leaks(RECORDED)
    RECORDED.clear()
    assert not found, found
