"""Module and host requests: validation, auto-approval policy, allowlists and egress rules."""

from __future__ import annotations

import pytest

from mcpbox.approvals import service
from mcpbox.db import server_store, setting_store
from mcpbox.db.engine import Database
from mcpbox.db.models import RequestStatus
from mcpbox.db.request_store import RequestKind
from mcpbox.errors import Conflict, InvalidInput, PermissionDenied
from mcpbox.sandbox.worker.policy.modules import DEFAULT_MODULES
from mcpbox.tools import allowlists, requests
from tests.tools.harness import Recorded

pytestmark = pytest.mark.anyio


async def test_a_module_request_waits_for_the_owner_and_then_joins_the_allowlist(
    database: Database, recorded: Recorded
) -> None:
    request = await requests.request_module(
        database,
        server="home",
        module="zlib",
        requested_by="token:ci",
        justification="crc32",
        hooks=recorded.hooks,
    )
    assert (request.status, request.requested_by, request.ref) == (
        RequestStatus.PENDING,
        "token:ci",
        f"module:{request.id}",
    )
    assert "zlib" not in await allowlists.module_allowlist_for_server(database, "home")
    await requests.approve_module_request(
        database, request.id, decided_by="admin:owner", hooks=recorded.hooks
    )
    allowed = await allowlists.module_allowlist_for_server(database, "home")
    assert allowed == DEFAULT_MODULES | {"zlib"}
    assert recorded.names() == ["module.requested", "approval.decided", "module.approved"]


async def test_a_rejected_module_stays_off_the_allowlist_and_may_be_asked_again(
    database: Database, recorded: Recorded
) -> None:
    request = await requests.request_module(
        database, server="home", module="zlib", requested_by="x", hooks=recorded.hooks
    )
    await service.reject_request(
        database,
        RequestKind.MODULE,
        request.id,
        decided_by="admin",
        reason="use hashlib",
        hooks=recorded.hooks,
    )
    assert "zlib" not in await allowlists.module_allowlist_for_server(database, "home")
    again = await requests.request_module(
        database, server="home", module="zlib", requested_by="x", hooks=recorded.hooks
    )
    assert again.status is RequestStatus.PENDING


async def test_allowlists_are_per_server(database: Database, recorded: Recorded) -> None:
    await server_store.create_server(database, name="other", created_by="local")
    request = await requests.request_module(
        database, server="home", module="zlib", requested_by="x", hooks=recorded.hooks
    )
    await requests.approve_module_request(database, request.id, decided_by="admin", hooks=recorded.hooks)
    assert "zlib" not in await allowlists.module_allowlist_for_server(database, "other")


async def test_duplicate_requests_conflict(database: Database, recorded: Recorded) -> None:
    await requests.request_module(
        database, server="home", module="zlib", requested_by="x", hooks=recorded.hooks
    )
    with pytest.raises(Conflict, match="already requested"):
        await requests.request_module(
            database, server="home", module="zlib", requested_by="x", hooks=recorded.hooks
        )


@pytest.mark.parametrize(
    ("module", "package", "version", "message"),
    [
        ("os", None, None, "can never be allowed"),
        ("subprocess.run", None, None, "can never be allowed"),
        ("json", None, None, "allowed by default"),
        ("yaml", None, None, "not in the standard library"),
        ("yaml", "PyYAML", None, "pinned version"),
        ("yaml", "PyYAML", ">=6", "one exact version"),
        ("zlib", None, "1.0", "only makes sense with a package"),
        ("_private", None, None, "invalid module name"),
    ],
)
async def test_bad_module_requests_say_what_to_do(
    database: Database,
    recorded: Recorded,
    module: str,
    package: str | None,
    version: str | None,
    message: str,
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await requests.request_module(
            database,
            server="home",
            module=module,
            package=package,
            version=version,
            requested_by="x",
            hooks=recorded.hooks,
        )


async def test_auto_approve_mode_approves_stdlib_modules_only(database: Database, recorded: Recorded) -> None:
    await setting_store.set_setting(database, "module_approval_mode", "auto_approve")
    stdlib = await requests.request_module(
        database, server="home", module="zlib", requested_by="x", hooks=recorded.hooks
    )
    assert (stdlib.status, stdlib.decided_by) == (RequestStatus.APPROVED, "policy:auto_approve")
    package = await requests.request_module(
        database,
        server="home",
        module="yaml",
        package="PyYAML",
        version="6.0.2",
        requested_by="x",
        hooks=recorded.hooks,
    )
    assert package.status is RequestStatus.PENDING


async def test_require_approval_mode_leaves_stdlib_modules_pending(
    database: Database, recorded: Recorded
) -> None:
    request = await requests.request_module(
        database, server="home", module="zlib", requested_by="x", hooks=recorded.hooks
    )
    assert request.status is RequestStatus.PENDING


async def test_approving_a_package_without_an_installer_is_refused_and_stays_pending(
    database: Database, recorded: Recorded
) -> None:
    request = await requests.request_module(
        database,
        server="home",
        module="yaml",
        package="PyYAML",
        version="6.0.2",
        requested_by="x",
        hooks=recorded.hooks,
    )
    with pytest.raises(PermissionDenied, match="not configured"):
        await requests.approve_module_request(database, request.id, decided_by="admin", hooks=recorded.hooks)
    assert "yaml" not in await allowlists.module_allowlist_for_server(database, "home")


async def test_host_requests_are_canonical_and_approved_hosts_form_the_egress_rules(
    database: Database, recorded: Recorded
) -> None:
    names = ["API.Example.org.", "127.0.0.1:8080", "[::1]:9000", "0x7f.1"]
    ids = []
    for host in names:
        request = await requests.request_network_access(
            database, server="home", host=host, requested_by="token:ci", hooks=recorded.hooks
        )
        ids.append(request.id)
    assert await allowlists.egress_rules_for_server(database, "home") == (frozenset(), frozenset())
    for request_id in ids[:3]:
        await service.approve_request(
            database, RequestKind.HOST, request_id, decided_by="admin", hooks=recorded.hooks
        )
    hosts, addresses = await allowlists.egress_rules_for_server(database, "home")
    assert hosts == {"api.example.org", "127.0.0.1:8080", "[::1]:9000"}
    assert addresses == {"127.0.0.1", "::1"}
    with pytest.raises(Conflict, match="already requested"):
        await requests.request_network_access(
            database, server="home", host="127.0.0.1", requested_by="x", hooks=recorded.hooks
        )


@pytest.mark.parametrize(
    "host", ["https://example.org", "example.org/path", "", "exa mple.org", "1.2.3.4.5:99999"]
)
async def test_bad_hosts_are_refused(database: Database, recorded: Recorded, host: str) -> None:
    with pytest.raises(InvalidInput, match="invalid host"):
        await requests.request_network_access(
            database, server="home", host=host, requested_by="x", hooks=recorded.hooks
        )


async def test_requests_for_an_unknown_server_are_not_found(database: Database, recorded: Recorded) -> None:
    from mcpbox.errors import NotFound

    with pytest.raises(NotFound, match="no server"):
        await requests.request_network_access(
            database, server="nope", host="a.org", requested_by="x", hooks=recorded.hooks
        )
