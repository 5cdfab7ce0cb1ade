"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_ESL = REPO.parent / "shared" / "esl"


@pytest.fixture(scope="session")
def shared_esl() -> Path:
    """The real FreeSWITCH captures (``../shared/esl`` beside the checkout)."""
    if not SHARED_ESL.is_dir():
        pytest.skip(f"real ESL captures not found at {SHARED_ESL}")
    return SHARED_ESL
