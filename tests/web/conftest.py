"""Fixtures for the admin UI/API tests: an app with the admin signed in, or not yet set up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.web.admin_harness import Admin, admin_app, run_setup


@pytest.fixture
async def fresh(tmp_path: Path) -> AsyncIterator[Admin]:
    """The app before first-run setup."""
    async with admin_app(tmp_path) as (client, state):
        yield Admin(client, state)


@pytest.fixture
async def admin(tmp_path: Path) -> AsyncIterator[Admin]:
    """The app after setup, with the client signed in as the owner."""
    async with admin_app(tmp_path) as (client, state):
        response = await run_setup(client, state)
        assert response.status_code == 303, response.text
        yield Admin(client, state)
