"""Repository functions for ``admins``: create, look up, change password, note logins.

Names are checked here (not only in the UI) because the CLI creates accounts too. The first
account is created by ``create_first_admin``, which checks "no admin yet" inside the same write
transaction, so two setup pages submitted at once cannot both create one.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from mcpbox.auth.models import ADMIN_NAME_PATTERN, Admin
from mcpbox.db.engine import Database
from mcpbox.errors import Conflict, InvalidInput, NotFound

_NAME_RE = re.compile(ADMIN_NAME_PATTERN)


def check_admin_name(name: str) -> str:
    if not _NAME_RE.fullmatch(name):
        raise InvalidInput(
            "invalid admin name: use 1-64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return name


async def admin_exists(db: Database) -> bool:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(Admin))).one() > 0


async def find_admin(db: Database, name: str) -> Admin | None:
    async with db.session() as session:
        return (await session.exec(select(Admin).where(col(Admin.name) == name))).first()


async def get_admin(db: Database, name: str) -> Admin:
    admin = await find_admin(db, name)
    if admin is None:
        raise NotFound(f"no admin named {name!r}")
    return admin


async def find_admin_by_id(db: Database, admin_id: int) -> Admin | None:
    async with db.session() as session:
        return await session.get(Admin, admin_id)


async def create_admin(
    db: Database, name: str, password_hash: str, *, now: datetime, first: bool = False
) -> Admin:
    """Create an account; ``Conflict`` if the name is taken, or (``first``) if any admin exists."""
    check_admin_name(name)
    admin = Admin(name=name, password_hash=password_hash, created_at=now, password_changed_at=now)
    async with db.write() as session:
        if first and (await session.exec(select(func.count()).select_from(Admin))).one() > 0:
            raise Conflict("an admin account already exists; sign in instead")
        session.add(admin)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise Conflict(f"an admin named {name!r} already exists") from exc
    return admin


async def set_password_hash(
    db: Database, admin_id: int, password_hash: str, *, now: datetime, changed: bool
) -> None:
    """Store a new hash: ``changed`` for a new password, False for a rehash of the same one."""
    async with db.write() as session:
        admin = await session.get(Admin, admin_id)
        if admin is None:
            raise NotFound(f"no admin with id {admin_id}")
        admin.password_hash = password_hash
        if changed:
            admin.password_changed_at = now
        session.add(admin)


async def note_login(db: Database, admin_id: int, *, now: datetime) -> None:
    async with db.write() as session:
        admin = await session.get(Admin, admin_id)
        if admin is not None:
            admin.last_login_at = now
            session.add(admin)
