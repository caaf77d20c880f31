"""Fixtures for the db tests: a fresh data dir, migrated database and keyring per test."""

from __future__ import annotations

import pytest

from mcpbox.config import Config
from mcpbox.crypto.keyring import Keyring, load_or_create_keyring


@pytest.fixture
def keyring(config: Config) -> Keyring:
    ring, _created = load_or_create_keyring(config.key_file)
    return ring
