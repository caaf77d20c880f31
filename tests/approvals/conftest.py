"""Fixtures for the tool forge tests (see tests/tools/harness.py)."""

from tests.tools.harness import config, database, recorded

__all__ = ["config", "database", "recorded"]
