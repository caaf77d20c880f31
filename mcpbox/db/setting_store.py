"""Repository functions for ``settings``: runtime policy values changed from the admin UI.

Startup configuration lives in ``Config``; this table holds the security policy settings an
owner flips while mcpbox runs (``tool_approval_mode``, ``log_retention_days``, ...). Values are
stored as JSON text so one column holds strings, numbers and booleans alike; the layer above
owns the list of known keys and validates values before they reach this module.
"""

from __future__ import annotations

import json
from typing import TypeAlias

from sqlalchemy import delete
from sqlmodel import col, select

from mcpbox.db.engine import Database
from mcpbox.db.models import SettingRow, utcnow
from mcpbox.errors import InvalidInput, NotFound

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None
KEY_MAX = 100


class _Missing:
    """Marks "no default given" (None is a valid JSON default)."""


_MISSING = _Missing()


async def find_setting(db: Database, key: str) -> JSONValue:
    """The stored value of ``key``, or None when it was never set."""
    async with db.session() as session:
        row = await session.get(SettingRow, key)
    return None if row is None else _decode(row)


async def get_setting(db: Database, key: str, default: JSONValue | _Missing = _MISSING) -> JSONValue:
    """The stored value of ``key``. When it was never set: ``default`` if given, else ``NotFound``."""
    async with db.session() as session:
        row = await session.get(SettingRow, key)
    if row is not None:
        return _decode(row)
    if isinstance(default, _Missing):
        raise NotFound(f"setting {key!r} is not set")
    return default


async def list_settings(db: Database) -> dict[str, JSONValue]:
    """Every stored setting, by key."""
    async with db.session() as session:
        rows = await session.exec(select(SettingRow).order_by(col(SettingRow.key)))
        return {row.key: _decode(row) for row in rows.all()}


async def set_setting(db: Database, key: str, value: JSONValue, *, updated_by: str | None = None) -> None:
    """Insert or replace the value of ``key``."""
    if not key or len(key) > KEY_MAX:
        raise InvalidInput(f"setting key must be 1-{KEY_MAX} characters")
    try:
        encoded = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"setting {key!r}: value is not JSON-serialisable") from exc
    async with db.write() as session:
        row = await session.get(SettingRow, key)
        if row is None:
            row = SettingRow(key=key, value=encoded, updated_by=updated_by, updated_at=utcnow())
        else:
            row.value, row.updated_by, row.updated_at = encoded, updated_by, utcnow()
        session.add(row)


async def delete_setting(db: Database, key: str) -> None:
    """Forget ``key`` (it falls back to its default); missing keys are fine."""
    async with db.write() as session:
        await session.exec(delete(SettingRow).where(col(SettingRow.key) == key))


def _decode(row: SettingRow) -> JSONValue:
    value: JSONValue = json.loads(row.value)
    return value
