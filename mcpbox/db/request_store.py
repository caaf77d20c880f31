"""Repository functions for ``module_requests`` and ``host_requests``.

Approved rows are the single source of truth for a server's module and host allowlists; nothing
else grants either. A decision is one conditional ``UPDATE ... WHERE id = :id AND status =
'pending'``, so two owners approving (or one approving while another rejects) the same request
yield exactly one decision and one ``Conflict``; revoking is the same kind of UPDATE from
'approved' to 'revoked'. A new request for something the server already
has pending or approved is refused inside the same serialised write transaction as the insert,
so two identical concurrent requests cannot both be created.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from mcpbox.db.engine import Database
from mcpbox.db.models import HostRequest, ModuleRequest, RequestStatus, Server, utcnow
from mcpbox.errors import Conflict, InvalidInput, NotFound


class RequestKind(StrEnum):
    MODULE = "module"
    HOST = "host"


_TABLES: dict[RequestKind, type[ModuleRequest] | type[HostRequest]] = {
    RequestKind.MODULE: ModuleRequest,
    RequestKind.HOST: HostRequest,
}


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """A module or host request. ``subject`` is the module name or the host rule."""

    kind: RequestKind
    id: int
    server: str
    subject: str
    package: str | None  # module requests only: PyPI distribution to install
    version: str | None  # module requests only: its pinned version
    justification: str
    status: RequestStatus
    requested_by: str
    created_at: datetime
    updated_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None

    @property
    def ref(self) -> str:
        """The id shown to owners and accepted by the approvals service: ``module:3``, ``host:7``."""
        return f"{self.kind.value}:{self.id}"


async def create_module_request(
    db: Database,
    *,
    server: str,
    module: str,
    requested_by: str,
    package: str | None = None,
    version: str | None = None,
    justification: str = "",
) -> RequestInfo:
    """A pending module request; ``Conflict`` if this module is already pending or approved."""
    now = utcnow()
    async with db.write() as session:
        server_id = await _server_id(session, server)
        await _refuse_duplicate(
            session, ModuleRequest, server, server_id, col(ModuleRequest.module) == module
        )
        row = ModuleRequest(
            server_id=server_id,
            module=module,
            package=package,
            version=version,
            justification=justification,
            requested_by=requested_by,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
    return _info(RequestKind.MODULE, row, server)


async def create_host_request(
    db: Database, *, server: str, host: str, requested_by: str, justification: str = ""
) -> RequestInfo:
    """A pending host request; ``Conflict`` if this host is already pending or approved."""
    now = utcnow()
    async with db.write() as session:
        server_id = await _server_id(session, server)
        await _refuse_duplicate(session, HostRequest, server, server_id, col(HostRequest.host) == host)
        row = HostRequest(
            server_id=server_id,
            host=host,
            justification=justification,
            requested_by=requested_by,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
    return _info(RequestKind.HOST, row, server)


async def get_request(db: Database, kind: RequestKind, request_id: int) -> RequestInfo:
    table = _TABLES[kind]
    async with db.session() as session:
        row = (await session.exec(_with_server_name(table, request_id))).first()
    if row is None:
        raise NotFound(f"no {kind.value} request {kind.value}:{request_id}")
    return _info(kind, _row(row[0]), row[1])


async def list_requests(
    db: Database,
    kind: RequestKind,
    *,
    server: str | None = None,
    status: RequestStatus | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[RequestInfo], int]:
    """One page of requests, oldest first (the order an owner reviews them), and the total."""
    if offset < 0 or limit < 1:
        raise InvalidInput("offset must be >= 0 and limit >= 1")
    table = _TABLES[kind]
    conditions = []
    if server is not None:
        conditions.append(col(Server.name) == server)
    if status is not None:
        conditions.append(col(table.status) == status.value)
    async with db.session() as session:
        total = (
            await session.exec(
                select(func.count())
                .select_from(table)
                .join(Server, col(Server.id) == col(table.server_id))
                .where(*conditions)
            )
        ).one()
        rows = await session.exec(
            select(table, Server.name)
            .join(Server, col(Server.id) == col(table.server_id))
            .where(*conditions)
            .order_by(col(table.created_at), col(table.id))
            .offset(offset)
            .limit(limit)
        )
        return [_info(kind, _row(row), name) for row, name in rows.all()], int(total)


async def approved_subjects(db: Database, kind: RequestKind, server: str) -> frozenset[str]:
    """Every approved module name (or host rule) of ``server``: its allowlist entries."""
    table = _TABLES[kind]
    subject = col(ModuleRequest.module) if kind is RequestKind.MODULE else col(HostRequest.host)
    async with db.session() as session:
        rows = await session.exec(
            select(subject)
            .join(Server, col(Server.id) == col(table.server_id))
            .where(col(Server.name) == server, col(table.status) == RequestStatus.APPROVED.value)
        )
        return frozenset(rows.all())


async def decide(
    db: Database,
    kind: RequestKind,
    request_id: int,
    *,
    new_status: RequestStatus,
    decided_by: str,
    reason: str | None,
) -> RequestInfo:
    """Move a pending request to approved or rejected in one conditional UPDATE.

    ``NotFound`` if there is no such request; ``Conflict`` (naming the decision already taken)
    if it is no longer pending.
    """
    if new_status is RequestStatus.PENDING:
        raise InvalidInput("a decision must approve or reject")
    info, moved = await _transition(
        db, kind, request_id, RequestStatus.PENDING, new_status, decided_by=decided_by, reason=reason
    )
    if not moved:
        raise Conflict(
            f"{kind.value} request {info.ref} ({info.subject!r} for server {info.server!r}) was already "
            f"{info.status.value} by {info.decided_by}"
        )
    return info


async def revoke(
    db: Database, kind: RequestKind, request_id: int, *, revoked_by: str, reason: str
) -> RequestInfo:
    """Move an approved request to revoked in one conditional UPDATE: it leaves the allowlist.

    The row's decision fields then name the revocation (who, when, why); the approval that came
    before it stays in the activity log. ``NotFound``; ``Conflict`` if it is not approved (still
    pending, rejected, or revoked already).
    """
    info, moved = await _transition(
        db,
        kind,
        request_id,
        RequestStatus.APPROVED,
        RequestStatus.REVOKED,
        decided_by=revoked_by,
        reason=reason,
    )
    if not moved:
        raise Conflict(
            f"{kind.value} request {info.ref} ({info.subject!r} for server {info.server!r}) is "
            f"{info.status.value}, not approved: only an approved {kind.value} can be revoked"
        )
    return info


async def _transition(
    db: Database,
    kind: RequestKind,
    request_id: int,
    expected: RequestStatus,
    new_status: RequestStatus,
    *,
    decided_by: str,
    reason: str | None,
) -> tuple[RequestInfo, bool]:
    """``UPDATE ... WHERE id AND status = expected``, then the row as it is now; True if it moved.

    ``NotFound`` if there is no such request. The caller words the conflict.
    """
    table = _TABLES[kind]
    now = utcnow()
    async with db.write() as session:
        result = await session.exec(
            update(table)
            .where(col(table.id) == request_id, col(table.status) == expected.value)
            .values(
                status=new_status.value,
                decided_by=decided_by,
                decided_at=now,
                reason=reason,
                updated_at=now,
            )
        )
        row = (await session.exec(_with_server_name(table, request_id))).first()
        if row is None:
            raise NotFound(f"no {kind.value} request {kind.value}:{request_id}")
        await session.refresh(row[0])
        info = _info(kind, _row(row[0]), row[1])
    return info, result.rowcount == 1


def _with_server_name(table: type[ModuleRequest] | type[HostRequest], request_id: int) -> Any:
    """The request row and its server's name."""
    return (
        select(table, Server.name)
        .join(Server, col(Server.id) == col(table.server_id))
        .where(col(table.id) == request_id)
    )


async def _refuse_duplicate(
    session: AsyncSession,
    table: type[ModuleRequest] | type[HostRequest],
    server: str,
    server_id: int,
    same: Any,
) -> None:
    existing = (
        await session.exec(
            select(table).where(
                col(table.server_id) == server_id,
                same,
                col(table.status).in_([RequestStatus.PENDING.value, RequestStatus.APPROVED.value]),
            )
        )
    ).first()
    if existing is not None:
        existing = _row(existing)
        kind = RequestKind.MODULE if table is ModuleRequest else RequestKind.HOST
        subject = _subject(existing)
        if existing.status == RequestStatus.APPROVED.value:
            raise Conflict(f"{kind.value} {subject!r} is already approved for server {server!r}")
        raise Conflict(
            f"{kind.value} {subject!r} is already requested for server {server!r} "
            f"({kind.value}:{existing.id}, pending); the owner must approve or reject it"
        )


def _row(row: object) -> ModuleRequest | HostRequest:
    assert isinstance(row, ModuleRequest | HostRequest)
    return row


def _subject(row: ModuleRequest | HostRequest) -> str:
    return row.module if isinstance(row, ModuleRequest) else row.host


async def _server_id(session: AsyncSession, server: str) -> int:
    found = (await session.exec(select(Server.id).where(col(Server.name) == server))).first()
    if found is None:
        raise NotFound(f"no server named {server!r}; mcpbox_list_servers shows the servers")
    return found


def _info(kind: RequestKind, row: ModuleRequest | HostRequest, server: str) -> RequestInfo:
    assert row.id is not None
    return RequestInfo(
        kind=kind,
        id=row.id,
        server=server,
        subject=_subject(row),
        package=row.package if isinstance(row, ModuleRequest) else None,
        version=row.version if isinstance(row, ModuleRequest) else None,
        justification=row.justification,
        status=RequestStatus(row.status),
        requested_by=row.requested_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        reason=row.reason,
    )
