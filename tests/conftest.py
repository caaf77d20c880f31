"""Suite-wide fixtures. Area-specific fixtures live in each tests/<area>/conftest.py."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """anyio's own pytest plugin runs ``@pytest.mark.anyio`` tests on asyncio (what we serve on)."""
    return "asyncio"
