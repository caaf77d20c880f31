"""mcpbox_request_module, _request_network_access, _list_pending_requests, _get_server_modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcpbox.approvals import service
from mcpbox.db import setting_store
from mcpbox.db.request_store import RequestKind
from tests.app_harness import running_app
from tests.management.harness import REMOTE, call, error, recorded, server_with_tool

pytestmark = pytest.mark.anyio


async def test_a_host_request_waits_for_the_owner_and_records_the_requester(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await call(state, "mcpbox_create_server", {"name": "home"})
        answer = await call(
            state,
            "mcpbox_request_network_access",
            {"server": "home", "host": "API.example.org:443", "justification": "forecasts"},
            REMOTE,
        )
        assert (answer["ref"], answer["subject"], answer["status"]) == (
            "host:1",
            "api.example.org:443",
            "pending",
        )
        assert answer["requested_by"] == "token:laptop"
        assert "`mcpbox approvals approve host:1`" in answer["next_step"]
        [event] = await recorded(state, "host.requested")
        assert event.actor == "token:laptop"
        duplicate = await error(
            state,
            "mcpbox_request_network_access",
            {"server": "home", "host": "api.example.org:443", "justification": "x"},
        )
        assert "already" in duplicate
        bad = await error(
            state,
            "mcpbox_request_network_access",
            {"server": "home", "host": "https://x.org/a", "justification": "x"},
        )
        assert "without scheme or path" in bad
        assert "'justification' is required" in await error(
            state, "mcpbox_request_network_access", {"server": "home", "host": "x.org"}
        )


async def test_module_requests_are_checked_before_the_owner_sees_them(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await call(state, "mcpbox_create_server", {"name": "home"})
        third_party = await error(
            state, "mcpbox_request_module", {"server": "home", "module": "yaml", "justification": "parse"}
        )
        assert "PyPI package" in third_party
        forbidden = await error(
            state, "mcpbox_request_module", {"server": "home", "module": "subprocess", "justification": "x"}
        )
        assert "can never be allowed" in forbidden
        default = await error(
            state, "mcpbox_request_module", {"server": "home", "module": "json", "justification": "x"}
        )
        assert "no request is needed" in default
        package = await call(
            state,
            "mcpbox_request_module",
            {
                "server": "home",
                "module": "yaml",
                "package": "PyYAML",
                "version": "6.0.2",
                "justification": "parse",
            },
        )
        assert (package["ref"], package["status"], package["package"]) == ("module:1", "pending", "PyYAML")
        assert package["package_version"] == "6.0.2"


async def test_standard_library_modules_are_approved_at_once_under_auto_approve(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await call(state, "mcpbox_create_server", {"name": "home"})
        await setting_store.set_setting(
            state.database, "module_approval_mode", "auto_approve", updated_by="t"
        )
        answer = await call(
            state, "mcpbox_request_module", {"server": "home", "module": "csv", "justification": "read csv"}
        )
        assert answer["status"] == "approved"
        assert answer["decided_by"] == "policy:auto_approve"
        assert "may use it now" in answer["next_step"]


async def test_pending_requests_are_listed_oldest_first_paged_with_their_refs(tmp_path: Path) -> None:
    async with running_app(tmp_path, environ={"MCPBOX_PAGE_SIZE_MAX": "2"}) as (_, state):
        await server_with_tool(state)
        await call(state, "mcpbox_request_publish", {"server": "home", "name": "weather"})
        await call(
            state,
            "mcpbox_request_network_access",
            {"server": "home", "host": "a.example", "justification": "a"},
            REMOTE,
        )
        await call(state, "mcpbox_request_module", {"server": "home", "module": "csv", "justification": "c"})
        first = await call(state, "mcpbox_list_pending_requests", {"page_size": 20})
        assert first["page_size"] == 2
        assert [item["ref"] for item in first["pending"]] == ["tool:1", "host:1"]
        assert (first["total"], first["next_page"]) == (3, 2)
        assert first["pending"][0]["version"] == 1
        assert [item["requested_by_you"] for item in first["pending"]] == [True, False]
        second = await call(state, "mcpbox_list_pending_requests", {"page": 2})
        assert [item["ref"] for item in second["pending"]] == ["module:1"]
        hosts = await call(state, "mcpbox_list_pending_requests", {"kind": "host", "server": "home"})
        assert [item["subject"] for item in hosts["pending"]] == ["a.example"]
        assert "mcpbox_list_servers" in await error(state, "mcpbox_list_pending_requests", {"server": "nope"})


async def test_server_modules_show_defaults_approved_pending_and_rejected_with_reason(tmp_path: Path) -> None:
    async with running_app(tmp_path) as (_, state):
        await call(state, "mcpbox_create_server", {"name": "home"})
        for module in ("csv", "zlib", "bisect"):
            await call(
                state, "mcpbox_request_module", {"server": "home", "module": module, "justification": "j"}
            )
        await service.approve_request(
            state.database, RequestKind.MODULE, 1, decided_by="owner", hooks=state.hooks
        )
        await service.reject_request(
            state.database, RequestKind.MODULE, 2, decided_by="owner", reason="use base64", hooks=state.hooks
        )
        modules = await call(state, "mcpbox_get_server_modules", {"server": "home"})
        assert "json" in modules["default_modules"]
        assert [m["subject"] for m in modules["approved"]] == ["csv"]
        assert [(m["subject"], m["reason"]) for m in modules["rejected"]] == [("zlib", "use base64")]
        assert [m["subject"] for m in modules["pending"]] == ["bisect"]
        assert "mcpbox_create_server" in await error(state, "mcpbox_get_server_modules", {"server": "nope"})
