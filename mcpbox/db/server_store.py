"""Repository functions for ``servers``: create, look up, page, delete, change status.

Status changes are a single conditional ``UPDATE ... WHERE status = :expected`` so two callers
racing to start (or stop) the same server can never both succeed: the loser sees ``Conflict``
naming the status it found. Duplicate names are caught by the unique constraint, not by a
check-then-insert that a concurrent writer could slip between.
"""

from __future__ import annotations

import re

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from mcpbox.db.engine import Database
from mcpbox.db.models import SERVER_NAME_PATTERN, Server, ServerStatus, utcnow
from mcpbox.errors import Conflict, InvalidInput, NotFound

_NAME_RE = re.compile(SERVER_NAME_PATTERN)
DESCRIPTION_MAX = 2000


def check_server_name(name: str) -> str:
    """Validate a server name (``^[a-z][a-z0-9_]{0,31}$``); returns it unchanged."""
    if not _NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"invalid server name {name!r}: use 1-32 lowercase letters, digits or '_', starting with a letter"
        )
    return name


async def create_server(
    db: Database,
    *,
    name: str,
    created_by: str,
    description: str = "",
    status: ServerStatus = ServerStatus.RUNNING,
) -> Server:
    """Create a server (running unless told otherwise); ``Conflict`` if the name is taken."""
    check_server_name(name)
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(f"description is longer than {DESCRIPTION_MAX} characters")
    now = utcnow()
    server = Server(
        name=name,
        description=description,
        status=status.value,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    async with db.write() as session:
        session.add(server)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise Conflict(f"a server named {name!r} already exists") from exc
    return server


async def find_server(db: Database, name: str) -> Server | None:
    """The server called ``name``, or None."""
    async with db.session() as session:
        return (await session.exec(select(Server).where(col(Server.name) == name))).first()


async def get_server(db: Database, name: str) -> Server:
    """The server called ``name``; ``NotFound`` if there is none."""
    server = await find_server(db, name)
    if server is None:
        raise NotFound(f"no server named {name!r}")
    return server


async def list_servers(db: Database, *, offset: int = 0, limit: int = 100) -> tuple[list[Server], int]:
    """One page of servers ordered by name, and the total number of servers."""
    if offset < 0 or limit < 1:
        raise InvalidInput("offset must be >= 0 and limit >= 1")
    async with db.session() as session:
        total = (await session.exec(select(func.count()).select_from(Server))).one()
        page = await session.exec(select(Server).order_by(col(Server.name)).offset(offset).limit(limit))
        return list(page.all()), int(total)


async def delete_server(db: Database, name: str) -> None:
    """Delete a server (its secrets go with it, ON DELETE CASCADE); ``NotFound`` if absent."""
    async with db.write() as session:
        result = await session.exec(delete(Server).where(col(Server.name) == name))
        if result.rowcount == 0:
            raise NotFound(f"no server named {name!r}")


async def set_server_status(
    db: Database, name: str, *, expected: ServerStatus | str, new: ServerStatus | str
) -> Server:
    """Move a server from ``expected`` to ``new`` status in one conditional UPDATE.

    Returns the updated server. ``NotFound`` if the server does not exist; ``Conflict`` if its
    status was not ``expected`` (someone else changed it first).
    """
    expected_status, new_status = _status(expected), _status(new)
    async with db.write() as session:
        result = await session.exec(
            update(Server)
            .where(col(Server.name) == name, col(Server.status) == expected_status.value)
            .values(status=new_status.value, updated_at=utcnow())
        )
        current = (await session.exec(select(Server).where(col(Server.name) == name))).first()
    if current is None:
        raise NotFound(f"no server named {name!r}")
    if result.rowcount != 1:
        raise Conflict(f"server {name!r} is {current.status}, not {expected_status.value}")
    return current


def _status(value: ServerStatus | str) -> ServerStatus:
    try:
        return ServerStatus(value)
    except ValueError as exc:
        choices = ", ".join(s.value for s in ServerStatus)
        raise InvalidInput(f"invalid server status {value!r}: choose one of {choices}") from exc
