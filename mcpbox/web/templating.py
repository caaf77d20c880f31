"""Jinja2 for the admin UI: autoescaped templates from the package, a few display filters.

Autoescaping is on for every template and undefined names are errors (``StrictUndefined``), so a
typo in a template fails a test instead of rendering an empty cell. Timestamps render as
``<time datetime="...Z">`` with a UTC label; ``mcpbox.js`` rewrites them into the viewer's zone,
and without JavaScript the UTC text stays correct.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from mcpbox import __version__

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"


def as_datetime(value: datetime | float | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def iso_utc(value: datetime | float | None) -> str:
    moment = as_datetime(value)
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def time_tag(value: datetime | float | None) -> Markup:
    """``<time>`` with machine ISO and human UTC text (the JS swaps in local time)."""
    moment = as_datetime(value)
    if moment is None:
        return Markup('<span class="muted">never</span>')
    text = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup('<time datetime="{}">{}</time>').format(escape(iso_utc(moment)), text)


def duration(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def create_environment(directory: Path = TEMPLATES_DIR) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(directory)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["time"] = time_tag
    env.filters["iso"] = iso_utc
    env.filters["duration"] = duration
    env.globals["version"] = __version__
    return env


def render_template(env: Environment, name: str, context: dict[str, Any]) -> str:
    return env.get_template(name).render(context)
