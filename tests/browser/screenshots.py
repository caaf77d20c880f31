"""``make screenshots``: the README's screenshots, from a real ``mcpbox serve`` with demo data.

An LLM's work is played by the official MCP SDK client (servers, tools, requests, calls), the
owner's by the admin API in the browser's session; then headless Chromium photographs the
dashboard, a tool with a version waiting for review (so the diff shows) and the approvals queue.

    python -m tests.browser.screenshots [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, ViewportSize, sync_playwright

from tests.browser.harness import (
    api,
    complete_setup,
    launch_chromium,
    mcp_calls,
    serve_with_setup_token,
    structured,
)

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT: ViewportSize = {"width": 1360, "height": 900}

CONVERT = '''def main(value: float, unit: str) -> dict:
    """Convert between metric and imperial units (km, mi, kg, lb, c, f)."""
    factors = {"km": ("mi", 0.621371), "mi": ("km", 1.609344), "kg": ("lb", 2.204623), "lb": ("kg", 0.453592)}
    if unit == "c":
        return {"value": round(value * 9 / 5 + 32, 2), "unit": "f"}
    if unit == "f":
        return {"value": round((value - 32) * 5 / 9, 2), "unit": "c"}
    if unit not in factors:
        raise ValueError(f"unknown unit {unit!r}; use one of km, mi, kg, lb, c, f")
    target, factor = factors[unit]
    return {"value": round(value * factor, 3), "unit": target}
'''
WEATHER_V1 = '''def main(city: str) -> str:
    """Today's weather for a city, from the homelab's cached forecast."""
    forecasts = {"oslo": "4 °C, light rain", "bergen": "7 °C, showers", "tromsø": "-3 °C, snow"}
    return forecasts.get(city.lower(), "no forecast cached for " + city)
'''
WEATHER_V2 = '''async def main(city: str, days: int = 1) -> dict:
    """Weather forecast for a city, live from Open-Meteo (no API key needed)."""
    places = {"oslo": (59.91, 10.75), "bergen": (60.39, 5.32), "tromsø": (69.65, 18.96)}
    if city.lower() not in places:
        raise ValueError(f"unknown city {city!r}; known: {', '.join(places)}")
    lat, lon = places[city.lower()]
    response = await http.get(
        "https://api.open-meteo.com/v1/forecast",
        params={"latitude": lat, "longitude": lon, "daily": "temperature_2m_max", "forecast_days": days},
    )
    daily = response.json()["daily"]
    return {"city": city, "max_c": daily["temperature_2m_max"]}
'''
BACKUP = '''def main(host: str) -> str:
    """Report when the last nightly backup of a host finished."""
    return f"last backup of {host}: see the NAS report"
'''


def seed(mcp: str, page: Page) -> None:
    """What a week with an LLM leaves behind: published tools, calls, and work waiting for review."""
    replies = mcp_calls(
        mcp,
        ("mcpbox_create_server", {"name": "home", "description": "Homelab helpers: weather, units, backups"}),
        ("mcpbox_create_server", {"name": "media", "description": "Jellyfin and download tools"}),
        ("mcpbox_create_server_secret", {"server": "media", "key": "JELLYFIN_TOKEN"}),
        ("mcpbox_create_tool", {"server": "home", "name": "convert_units", "code": CONVERT}),
        ("mcpbox_request_publish", {"server": "home", "name": "convert_units"}),
        ("mcpbox_create_tool", {"server": "home", "name": "weather", "code": WEATHER_V1}),
        ("mcpbox_request_publish", {"server": "home", "name": "weather"}),
    )
    for reply in (replies[4], replies[6]):
        tool = structured(reply)["tool"]
        api(page, "POST", f"/api/approvals/{tool['ref']}/approve", {"content_hash": tool["current_hash"]})
    time.sleep(0.3)  # the gateway notices the new tools
    mcp_calls(
        mcp,
        ("home__convert_units", {"value": 10, "unit": "km"}),
        ("home__convert_units", {"value": 72, "unit": "kg"}),
        ("home__convert_units", {"value": 21, "unit": "c"}),
        ("home__convert_units", {"value": 3, "unit": "parsec"}),
        ("home__weather", {"city": "Oslo"}),
        ("home__weather", {"city": "Bergen"}),
        ("home__weather", {"city": "Tromsø"}),
        ("home__convert_units", {"value": 5, "unit": "mi"}),
    )
    mcp_calls(
        mcp,
        (
            "mcpbox_update_tool",
            {"server": "home", "name": "weather", "code": WEATHER_V2, "hosts": ["api.open-meteo.com"]},
        ),
        (
            "mcpbox_request_network_access",
            {
                "server": "home",
                "host": "api.open-meteo.com",
                "justification": "Live forecasts for the weather tool (free API, no key).",
            },
        ),
        ("mcpbox_request_publish", {"server": "home", "name": "weather"}),
        ("mcpbox_create_tool", {"server": "home", "name": "backup_status", "code": BACKUP}),
        ("mcpbox_request_publish", {"server": "home", "name": "backup_status"}),
        (
            "mcpbox_request_module",
            {"server": "media", "module": "csv", "justification": "Export the watch history as CSV."},
        ),
    )
    (jellyfin,) = mcp_calls(
        mcp,
        (
            "mcpbox_request_network_access",
            {"server": "media", "host": "jellyfin.lan:8096", "justification": "The Jellyfin API on the LAN."},
        ),
    )
    api(page, "POST", f"/api/approvals/{structured(jellyfin)['ref']}/approve", {})


def shoot(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="mcpbox-screens-") as data,
        serve_with_setup_token(Path(data)) as (serve, token),
        sync_playwright() as playwright,
    ):
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport=VIEWPORT, timezone_id="Europe/Oslo", color_scheme="light")
        page = context.new_page()
        complete_setup(page, serve.base_url, token)
        seed(serve.mcp_url, page)
        time.sleep(0.5)  # the activity recorder writes in batches
        shots = {
            "dashboard.png": "/admin/",
            "tool-detail.png": "/admin/servers/home/tools/weather",
            "approvals.png": "/admin/approvals",
            "server.png": "/admin/servers/media",
        }
        written = []
        for name, path in shots.items():
            page.goto(serve.base_url + path)
            page.wait_for_load_state("networkidle")
            target = out / name
            page.screenshot(path=str(target), full_page=name != "tool-detail.png")
            written.append(target)
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    for path in shoot(parser.parse_args().out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
