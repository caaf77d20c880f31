"""Owner decisions: bound to the reviewed hash, one conditional UPDATE, races give one Conflict."""

from __future__ import annotations

import anyio
import pytest

from mcpbox.approvals import service
from mcpbox.approvals.pending import PendingKind, list_pending, parse_ref
from mcpbox.config import Config
from mcpbox.db.engine import Database, open_database
from mcpbox.db.models import RequestStatus, ToolStatus
from mcpbox.db.request_store import RequestInfo, RequestKind
from mcpbox.db.tool_store import ToolInfo
from mcpbox.errors import Conflict, InvalidInput, MCPBoxError, NotFound
from mcpbox.tools import lifecycle, requests
from tests.tools.harness import Recorded, new_tool

pytestmark = pytest.mark.anyio


async def _pending(db: Database, recorded: Recorded, name: str = "weather") -> ToolInfo:
    await new_tool(db, recorded, name=name)
    return await lifecycle.request_publish(
        db, server="home", name=name, requested_by="token:ci", hooks=recorded.hooks
    )


async def test_approval_publishes_and_records_who_and_why(database: Database, recorded: Recorded) -> None:
    tool = await _pending(database, recorded)
    approved = await service.approve_tool(
        database,
        tool.id,
        content_hash=tool.current_hash,
        decided_by="admin:owner",
        reason="looks fine",
        hooks=recorded.hooks,
    )
    assert (approved.status, approved.decided_by, approved.decision_reason) == (
        ToolStatus.APPROVED,
        "admin:owner",
        "looks fine",
    )
    assert approved.approved_version == 1
    decided = next(e for e in recorded.events if e.name == "approval.decided")
    assert decided.detail is not None
    assert (decided.actor, decided.detail["decision"], decided.detail["content_hash"]) == (
        "admin:owner",
        "approved",
        tool.current_hash,
    )
    assert recorded.names()[-1] == "tool.published"
    assert recorded.exposure_changes == 1


async def test_approving_a_stale_hash_is_a_conflict(database: Database, recorded: Recorded) -> None:
    tool = await _pending(database, recorded)
    with pytest.raises(Conflict, match="changed meanwhile"):
        await service.approve_tool(
            database, tool.id, content_hash="0" * 64, decided_by="admin:owner", hooks=recorded.hooks
        )


async def test_approving_a_draft_is_a_conflict(database: Database, recorded: Recorded) -> None:
    tool, _ = await new_tool(database, recorded)
    with pytest.raises(Conflict, match="is draft, not pending_review"):
        await service.approve_tool(
            database, tool.id, content_hash=tool.current_hash, decided_by="admin:owner", hooks=recorded.hooks
        )


async def test_two_concurrent_approvals_give_one_success_and_one_conflict(
    database: Database, recorded: Recorded
) -> None:
    tool = await _pending(database, recorded)
    outcomes: list[str] = []

    async def approve(who: str) -> None:
        try:
            await service.approve_tool(
                database, tool.id, content_hash=tool.current_hash, decided_by=who, hooks=recorded.hooks
            )
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    async with anyio.create_task_group() as group:
        group.start_soon(approve, "admin:a")
        group.start_soon(approve, "admin:b")
    assert sorted(outcomes) == ["conflict", "ok"]
    assert recorded.names().count("tool.published") == 1


async def test_concurrent_approve_and_reject_give_exactly_one_decision(
    database: Database, recorded: Recorded
) -> None:
    tool = await _pending(database, recorded)
    outcomes: list[str] = []

    async def decide(approve: bool) -> None:
        try:
            await service.decide(
                database,
                f"tool:{tool.id}",
                approve=approve,
                decided_by="admin:owner",
                reason="no",
                content_hash=tool.current_hash,
                hooks=recorded.hooks,
            )
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    async with anyio.create_task_group() as group:
        group.start_soon(decide, True)
        group.start_soon(decide, False)
    assert sorted(outcomes) == ["conflict", "ok"]
    assert recorded.names().count("approval.decided") == 1


async def test_a_rejection_needs_a_reason_and_the_tool_can_be_resubmitted(
    database: Database, recorded: Recorded
) -> None:
    tool = await _pending(database, recorded)
    with pytest.raises(InvalidInput, match="needs a reason"):
        await service.reject_tool(
            database,
            tool.id,
            content_hash=tool.current_hash,
            decided_by="admin:owner",
            reason=" ",
            hooks=recorded.hooks,
        )
    rejected = await service.reject_tool(
        database,
        tool.id,
        content_hash=tool.current_hash,
        decided_by="admin:owner",
        reason="no egress",
        hooks=recorded.hooks,
    )
    assert (rejected.status, rejected.decision_reason) == (ToolStatus.REJECTED, "no egress")
    assert recorded.names()[-1] == "tool.rejected"
    again = await lifecycle.request_publish(
        database, server="home", name="weather", requested_by="token:ci", hooks=recorded.hooks
    )
    assert again.status is ToolStatus.PENDING_REVIEW


async def test_two_concurrent_host_approvals_give_one_success_and_one_conflict(
    database: Database, recorded: Recorded
) -> None:
    request = await requests.request_network_access(
        database, server="home", host="api.example.org", requested_by="token:ci", hooks=recorded.hooks
    )
    outcomes: list[str] = []

    async def approve(who: str) -> None:
        try:
            await service.approve_request(
                database, RequestKind.HOST, request.id, decided_by=who, hooks=recorded.hooks
            )
            outcomes.append("ok")
        except Conflict as exc:
            outcomes.append("conflict: " + str(exc))

    async with anyio.create_task_group() as group:
        group.start_soon(approve, "admin:a")
        group.start_soon(approve, "admin:b")
    assert sorted(outcome.split(":")[0] for outcome in outcomes) == ["conflict", "ok"]
    assert any("already approved" in outcome for outcome in outcomes)
    assert recorded.names().count("host.approved") == 1
    assert recorded.allowlist_changes == ["home"]


async def test_the_queue_lists_tools_modules_and_hosts_oldest_first_with_paging(
    database: Database, recorded: Recorded
) -> None:
    tool = await _pending(database, recorded)
    await requests.request_module(
        database, server="home", module="zlib", requested_by="token:ci", hooks=recorded.hooks
    )
    await requests.request_network_access(
        database, server="home", host="api.example.org", requested_by="token:ci", hooks=recorded.hooks
    )
    items, total = await list_pending(database)
    assert total == 3
    assert [item.kind for item in items] == [PendingKind.TOOL, PendingKind.MODULE, PendingKind.HOST]
    assert items[0].ref == f"tool:{tool.id}"
    assert (items[0].content_hash, items[0].requested_by) == (tool.current_hash, "token:ci")
    page, total = await list_pending(database, offset=1, limit=1)
    assert ([item.kind for item in page], total) == ([PendingKind.MODULE], 3)
    hosts, total = await list_pending(database, kind=PendingKind.HOST)
    assert (len(hosts), total) == (1, 1)


async def test_decide_accepts_any_ref_the_queue_shows(database: Database, recorded: Recorded) -> None:
    await requests.request_module(
        database, server="home", module="zlib", requested_by="token:ci", hooks=recorded.hooks
    )
    items, _ = await list_pending(database)
    decided = await service.decide(
        database,
        items[0].ref,
        approve=False,
        decided_by="admin:owner",
        reason="not needed",
        hooks=recorded.hooks,
    )
    assert isinstance(decided, RequestInfo)
    assert decided.status is RequestStatus.REJECTED
    assert recorded.names()[-2:] == ["approval.decided", "module.rejected"]


@pytest.mark.parametrize("ref", ["tool", "tool:", "tool:x", "server:1", "12"])
def test_bad_refs_explain_the_format(ref: str) -> None:
    with pytest.raises(InvalidInput, match="tool:<n>"):
        parse_ref(ref)


async def test_a_tool_decision_without_a_hash_is_refused(database: Database, recorded: Recorded) -> None:
    tool = await _pending(database, recorded)
    with pytest.raises(InvalidInput, match="content hash"):
        await service.decide(
            database, f"tool:{tool.id}", approve=True, decided_by="admin", hooks=recorded.hooks
        )


async def test_deciding_a_missing_item_is_not_found(database: Database, recorded: Recorded) -> None:
    with pytest.raises(NotFound):
        await service.approve_request(
            database, RequestKind.MODULE, 999, decided_by="admin", hooks=recorded.hooks
        )
    with pytest.raises(MCPBoxError):
        await service.approve_tool(
            database, 999, content_hash="0" * 64, decided_by="admin", hooks=recorded.hooks
        )


async def test_racing_approvals_from_two_processes_give_one_decision(
    database: Database, recorded: Recorded, config: Config
) -> None:
    # A second engine on the same file stands in for `mcpbox approvals approve` on the CLI: the
    # in-process write lock does not serialise it, only the conditional UPDATE does.
    tool = await _pending(database, recorded)
    other = await open_database(config)
    outcomes: list[str] = []

    async def approve(db: Database) -> None:
        try:
            await service.approve_tool(
                db, tool.id, content_hash=tool.current_hash, decided_by="admin", hooks=recorded.hooks
            )
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(approve, database)
            group.start_soon(approve, other)
    finally:
        await other.close()
    assert sorted(outcomes) == ["conflict", "ok"]


async def _approved_host(db: Database, recorded: Recorded) -> RequestInfo:
    request = await requests.request_network_access(
        db, server="home", host="api.example.org", requested_by="token:ci", hooks=recorded.hooks
    )
    return await service.approve_request(
        db, RequestKind.HOST, request.id, decided_by="admin:owner", hooks=recorded.hooks
    )


async def test_revoking_takes_an_approved_host_off_the_allowlist(
    database: Database, recorded: Recorded
) -> None:
    from mcpbox.db import request_store

    approved = await _approved_host(database, recorded)
    assert "api.example.org" in await request_store.approved_subjects(database, RequestKind.HOST, "home")
    revoked = await service.revoke(
        database, approved.ref, revoked_by="admin:owner", reason="the API moved", hooks=recorded.hooks
    )
    assert (revoked.status, revoked.decided_by, revoked.reason) == (
        RequestStatus.REVOKED,
        "admin:owner",
        "the API moved",
    )
    assert "api.example.org" not in await request_store.approved_subjects(database, RequestKind.HOST, "home")
    assert recorded.names()[-2:] == ["approval.decided", "host.revoked"]
    decided = recorded.events[-2]
    assert decided.detail is not None
    assert decided.detail["decision"] == "revoked"
    assert recorded.allowlist_changes == ["home", "home"]  # approval, then revocation


async def test_only_an_approved_request_can_be_revoked(database: Database, recorded: Recorded) -> None:
    pending = await requests.request_network_access(
        database, server="home", host="pending.example.org", requested_by="token:ci", hooks=recorded.hooks
    )
    with pytest.raises(Conflict, match="is pending, not approved"):
        await service.revoke(
            database, pending.ref, revoked_by="admin:owner", reason="no", hooks=recorded.hooks
        )
    approved = await _approved_host(database, recorded)
    await service.revoke(database, approved.ref, revoked_by="admin:a", reason="first", hooks=recorded.hooks)
    with pytest.raises(Conflict, match="is revoked, not approved"):
        await service.revoke(
            database, approved.ref, revoked_by="admin:b", reason="second", hooks=recorded.hooks
        )
    assert recorded.names().count("host.revoked") == 1


async def test_a_revocation_needs_a_reason_and_a_module_or_host_ref(
    database: Database, recorded: Recorded
) -> None:
    approved = await _approved_host(database, recorded)
    with pytest.raises(InvalidInput, match="needs a reason"):
        await service.revoke(
            database, approved.ref, revoked_by="admin:owner", reason="  ", hooks=recorded.hooks
        )
    tool = await _pending(database, recorded)
    with pytest.raises(InvalidInput, match="only module and host approvals can be revoked"):
        await service.revoke(
            database, f"tool:{tool.id}", revoked_by="admin:owner", reason="x", hooks=recorded.hooks
        )
    with pytest.raises(NotFound):
        await service.revoke(
            database, "module:999", revoked_by="admin:owner", reason="x", hooks=recorded.hooks
        )


async def test_a_revoked_host_can_be_requested_again(database: Database, recorded: Recorded) -> None:
    approved = await _approved_host(database, recorded)
    await service.revoke(
        database, approved.ref, revoked_by="admin:owner", reason="later", hooks=recorded.hooks
    )
    again = await requests.request_network_access(
        database, server="home", host="api.example.org", requested_by="token:ci", hooks=recorded.hooks
    )
    assert again.status is RequestStatus.PENDING
    assert again.id != approved.id
