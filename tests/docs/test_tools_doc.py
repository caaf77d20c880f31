"""docs/management-tools.md and docs/cli.md document every management tool and every command.

Each documented item is a ``### `name` `` section; a tool's section must show its annotations
as declared and name each argument, a command's section each option and argument, so a new
tool, command or option cannot ship undocumented and a removed one cannot linger in the docs.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from mcpbox.cli import main
from mcpbox.management.tools import build_registry

DOCS = Path(__file__).resolve().parents[2] / "docs"
COMMON_OPTIONS = {"--config", "--data-dir", "--help"}  # documented once, at the top of cli.md


def _sections(doc: str) -> dict[str, str]:
    """``### `name` `` heading -> the text up to the next heading of level 2 or 3."""
    text = (DOCS / doc).read_text(encoding="utf-8")
    parts = re.split(r"^(#{2,3} .*)$", text, flags=re.MULTILINE)
    sections: dict[str, str] = {}
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        match = re.fullmatch(r"### `([^`]+)`", heading.strip())
        if match:
            sections[match.group(1)] = body
    return sections


def _commands(group: click.Group, prefix: str = "mcpbox") -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found.update(_commands(command, path))
        else:
            found[path] = command
    return found


def _heading(path: str, command: click.Command) -> str:
    arguments = [p.human_readable_name for p in command.params if isinstance(p, click.Argument)]
    return " ".join([path, *arguments])


def test_every_management_tool_is_documented_with_its_arguments_and_annotations() -> None:
    sections = _sections("management-tools.md")
    yes_no = {True: "yes", False: "no"}
    for tool in build_registry():
        assert tool.name in sections, f"{tool.name} is missing from docs/management-tools.md"
        body = sections[tool.name]
        hints = tool.descriptor.annotations
        expected = (
            f"read-only: {yes_no[hints.read_only]} · destructive: {yes_no[hints.destructive]} · "
            f"idempotent: {yes_no[hints.idempotent]} · open world: {yes_no[hints.open_world]}"
        )
        assert expected in body, f"{tool.name}: annotations in the doc differ from the declaration"
        for argument in tool.descriptor.input_schema.get("properties", {}):
            assert f"`{argument}`" in body, f"{tool.name}: argument {argument} is not documented"


def test_the_tools_doc_documents_no_tool_that_does_not_exist() -> None:
    names = {tool.name for tool in build_registry()}
    stale = sorted(set(_sections("management-tools.md")) - names)
    assert not stale, f"docs/management-tools.md documents unknown tools: {stale}"


def test_every_cli_command_is_documented_with_its_options_and_arguments() -> None:
    sections = _sections("cli.md")
    for path, command in _commands(main).items():
        heading = _heading(path, command)
        assert heading in sections, f"`{heading}` is missing from docs/cli.md"
        body = sections[heading]
        for param in command.params:
            if isinstance(param, click.Option):
                long_names = [name for name in param.opts if name.startswith("--")]
                if set(long_names) & COMMON_OPTIONS:
                    continue
                assert any(f"`{name}" in body for name in long_names), f"{path}: {param.opts} undocumented"


def test_the_cli_doc_documents_no_command_that_does_not_exist() -> None:
    headings = {_heading(path, command) for path, command in _commands(main).items()}
    stale = sorted(set(_sections("cli.md")) - headings)
    assert not stale, f"docs/cli.md documents unknown commands: {stale}"
