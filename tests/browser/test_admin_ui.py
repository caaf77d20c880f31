"""The owner's journey in a real browser (Debian's headless Chromium) against a real
``mcpbox serve``, with the LLM's side played by the official MCP SDK client.

One server and one browser for the module; the tests run in the order an owner lives them
(setup, sign-in, review, ...), and each one that needs a signed-in browser gets one whether or
not the earlier tests ran.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from mcpbox.web.routes import ADMIN_ROUTES, API_ROUTES
from tests.browser.harness import (
    OWNER,
    PASSWORD,
    api,
    complete_setup,
    launch_chromium,
    mcp_call,
    mcp_calls,
    serve_with_setup_token,
    sign_in,
    structured,
)
from tests.e2e.serve import ServeProcess

pytestmark = pytest.mark.e2e

WEATHER_V1 = '''def main(city: str) -> str:
    """Today's weather for a city."""
    return f"sunny in {city}"
'''
WEATHER_V2 = '''def main(city: str, units: str = "metric") -> str:
    """Today's weather for a city."""
    print("forecast for", city)
    return f"sunny in {city}, 21 degrees {units}"
'''
BROKEN = '''def main() -> str:
    """Reads a file."""
    return "no"
'''
SECRET_VALUE = "sk-live-9fQ2xVb7-never-render-me"
EXPECT_TIMEOUT_MS = 10_000


@dataclass
class Site:
    serve: ServeProcess
    setup_token: str
    browser: Browser
    set_up: bool = False

    @property
    def base(self) -> str:
        return self.serve.base_url

    @property
    def mcp(self) -> str:
        return self.serve.mcp_url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with (
        serve_with_setup_token(tmp_path_factory.mktemp("browser-data")) as (serve, token),
        sync_playwright() as playwright,
    ):
        browser = launch_chromium(playwright)
        try:
            yield Site(serve=serve, setup_token=token, browser=browser)
        finally:
            browser.close()


@pytest.fixture(scope="module")
def owner_context(site: Site) -> Iterator[BrowserContext]:
    """A browser context signed in as the owner (shared by the tests that need one)."""
    context = site.browser.new_context()
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    page = context.new_page()
    if not site.set_up:
        complete_setup(page, site.base, site.setup_token)
        site.set_up = True
    else:
        sign_in(page, site.base)
        page.wait_for_url(f"{site.base}/admin/")
    page.close()
    yield context
    context.close()


@pytest.fixture
def page(owner_context: BrowserContext) -> Iterator[Page]:
    page = owner_context.new_page()
    yield page
    page.close()


def test_first_run_setup_creates_the_owner(site: Site) -> None:
    context = site.browser.new_context()
    page = context.new_page()
    page.goto(f"{site.base}/admin/")
    expect(page).to_have_url(f"{site.base}/admin/setup")  # no admin yet: setup, not login
    expect(page.get_by_text("open the one-time setup link")).to_be_visible()
    complete_setup(page, site.base, site.setup_token)
    site.set_up = True
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_text(f"Signed in as {OWNER}")).to_be_visible()
    expect(page.get_by_text("Connect an MCP client")).to_be_visible()
    page.goto(f"{site.base}/admin/setup?token={site.setup_token}")
    expect(page).to_have_url(re.compile(r"/admin/"))  # setup is over: never shown again
    expect(page.locator("#password_again")).to_have_count(0)
    context.close()


def test_a_wrong_password_is_refused_then_the_right_one_signs_in(
    site: Site, owner_context: BrowserContext
) -> None:
    context = site.browser.new_context()
    page = context.new_page()
    sign_in(page, site.base, password="not the password")
    expect(page.get_by_role("alert")).to_contain_text("wrong")
    expect(page.locator("#password")).to_have_value("")  # the password is not echoed back
    sign_in(page, site.base, password=PASSWORD)
    expect(page).to_have_url(f"{site.base}/admin/")
    expect(page.get_by_text(f"Signed in as {OWNER}")).to_be_visible()
    context.close()


def test_a_tool_made_over_mcp_is_reviewed_with_a_diff_approved_and_called(site: Site, page: Page) -> None:
    created = mcp_calls(
        site.mcp,
        ("mcpbox_create_server", {"name": "lab", "description": "Homelab helpers"}),
        ("mcpbox_create_tool", {"server": "lab", "name": "weather", "code": WEATHER_V1}),
        ("mcpbox_request_publish", {"server": "lab", "name": "weather"}),
    )
    ref = structured(created[2])["tool"]["ref"]
    # Version 1: nothing was approved before, so the owner reviews the whole code.
    page.goto(f"{site.base}/admin/approvals")
    row = page.locator(f"#item-{ref.replace(':', '-')}")
    expect(row).to_contain_text("weather")
    row.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text(f"Approved {ref}")
    assert structured(mcp_calls(site.mcp, ("lab__weather", {"city": "Oslo"}))[0])["text"] == "sunny in Oslo"

    # Version 2 leaves the tool list until the owner has read what changed.
    mcp_calls(
        site.mcp,
        ("mcpbox_update_tool", {"server": "lab", "name": "weather", "code": WEATHER_V2}),
        ("mcpbox_request_publish", {"server": "lab", "name": "weather"}),
    )
    page.goto(f"{site.base}/admin/approvals")
    page.locator(f"#item-{ref.replace(':', '-')}").get_by_role("link", name="Review code and diff").click()
    expect(page.get_by_role("heading", name="Changes against approved version 1")).to_be_visible()
    diff = page.get_by_role("table", name="Side-by-side diff of the code")
    expect(diff.locator("tr.changed td.old").first).to_contain_text("def main(city: str) -> str:")
    expect(diff.locator("tr.changed td.new").first).to_contain_text('units: str = "metric"')
    expect(diff.locator("tr.added td.new")).to_contain_text('print("forecast for", city)')
    page.get_by_role("button", name="Approve v2").click()
    expect(page.get_by_role("status")).to_contain_text(f"Approved {ref}")
    expect(page.get_by_text("callable", exact=True)).to_be_visible()

    result = mcp_calls(site.mcp, ("lab__weather", {"city": "Bergen", "units": "metric"}))[0]
    assert structured(result)["text"] == "sunny in Bergen, 21 degrees metric"


def test_a_rejection_reason_reaches_the_llm(site: Site, page: Page) -> None:
    replies = mcp_calls(
        site.mcp,
        ("mcpbox_create_server", {"name": "files"}),
        ("mcpbox_create_tool", {"server": "files", "name": "reader", "code": BROKEN}),
        ("mcpbox_request_publish", {"server": "files", "name": "reader"}),
    )
    ref = structured(replies[2])["tool"]["ref"]
    page.goto(f"{site.base}/admin/approvals?kind=tool")
    row = page.locator(f"#item-{ref.replace(':', '-')}")
    row.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("alert")).to_contain_text("a rejection needs a reason")
    reason = "Do not read files; ask for an API host instead."
    row = page.locator(f"#item-{ref.replace(':', '-')}")
    row.get_by_label(f"Reason for {ref}").fill(reason)
    row.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("status")).to_contain_text(f"Rejected {ref}")
    status = mcp_call(site.mcp, "mcpbox_get_tool_status", {"server": "files", "name": "reader"})
    assert status["status"] == "rejected"
    assert status["rejection_reason"] == reason
    assert status["decided_by"] == OWNER


def test_a_secret_set_in_the_ui_never_appears_on_any_page(site: Site, page: Page) -> None:
    mcp_call(site.mcp, "mcpbox_create_server", {"name": "vault"})
    page.goto(f"{site.base}/admin/servers/vault")
    page.get_by_label("New secret key").fill("API_KEY")
    page.get_by_label("Value").fill(SECRET_VALUE)
    page.get_by_role("button", name="Add secret").click()
    expect(page.get_by_role("status")).to_contain_text("Secret API_KEY saved")
    assert SECRET_VALUE not in page.content()
    values = {
        "name": "vault",
        "key": "API_KEY",
        "tool": "weather",
        "ref": "tool:1",
        "setting": "log_retention_days",
    }
    paths = [
        spec.path.format(**values)
        for spec in (*ADMIN_ROUTES, *API_ROUTES)
        if "GET" in spec.methods and not spec.path.endswith("/stream")
    ]
    paths += [
        "/admin/servers/lab",
        "/admin/servers/lab/tools/weather",
        "/api/servers/lab/tools/weather",
        "/admin/activity?event=secret.",
        "/api/activity?server=vault",
        "/api/servers/vault/logs",
    ]
    fetched = 0
    for path in paths:
        response = page.request.get(f"{site.base}{path}")
        assert SECRET_VALUE not in response.text(), path
        assert SECRET_VALUE not in str(response.headers), path
        fetched += response.ok
    assert fetched >= 20
    secrets = mcp_call(site.mcp, "mcpbox_list_server_secrets", {"server": "vault"})
    assert secrets["secrets"][0]["has_value"] is True


def test_changing_a_setting(site: Site, page: Page) -> None:
    page.goto(f"{site.base}/admin/settings")
    row = page.locator("#setting-network_access_policy")
    row.get_by_label("network_access_policy").select_option("public_internet")
    row.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved network_access_policy")
    expect(page.locator("#setting-network_access_policy")).to_contain_text("changed")
    settings = {item["key"]: item["value"] for item in api(page, "GET", "/api/settings")["settings"]}
    assert settings["network_access_policy"] == "public_internet"
    page.goto(f"{site.base}/admin/activity?event=settings.")
    expect(page.locator("tbody[data-activity-rows] tr").first).to_contain_text(OWNER)


def test_the_live_tail_shows_a_call_made_over_mcp(site: Site, page: Page) -> None:
    page.goto(f"{site.base}/admin/activity")
    page.get_by_label("Live tail").check()
    expect(page.locator("[data-live-status]")).to_have_text("live")
    mcp_calls(site.mcp, ("lab__weather", {"city": "Tromsø"}))
    fresh = page.locator("tbody[data-activity-rows] tr.fresh", has_text="lab__weather")
    expect(fresh.first).to_be_visible()
    expect(fresh.first).to_contain_text("tools/call")


def test_sign_out_ends_the_session(site: Site, owner_context: BrowserContext) -> None:
    page = owner_context.new_page()
    page.goto(f"{site.base}/admin/")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/admin/login$"))
    page.goto(f"{site.base}/admin/approvals")
    expect(page).to_have_url(re.compile(r"/admin/login\?next=/admin/approvals"))
    assert page.request.get(f"{site.base}/api/session").status == 401
