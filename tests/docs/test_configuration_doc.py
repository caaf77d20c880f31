"""docs/configuration.md documents every setting: a row per setting, with its variable."""

from __future__ import annotations

import re
from pathlib import Path

from mcpbox.config import SETTINGS, Secret

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def _rows() -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `([a-z_]+)` \|", line)
        if match:
            rows[match.group(1)] = line
    return rows


def test_every_setting_has_a_row_naming_its_environment_variable() -> None:
    rows = _rows()
    missing = [s.name for s in SETTINGS if s.name not in rows]
    assert not missing, f"settings missing from docs/configuration.md: {missing}"
    for setting in SETTINGS:
        assert f"`{setting.env_name}`" in rows[setting.name], setting.name
        if setting.kind is Secret:
            assert f"`{setting.env_name}_FILE`" in rows[setting.name], setting.name


def test_the_table_documents_no_setting_that_does_not_exist() -> None:
    names = {s.name for s in SETTINGS}
    stale = sorted(set(_rows()) - names)
    assert not stale, f"docs/configuration.md documents unknown settings: {stale}"
