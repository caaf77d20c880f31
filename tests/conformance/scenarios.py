"""Which official conformance scenarios apply to mcpbox, and why the others do not.

Suite: ``@modelcontextprotocol/conformance`` pinned below (0.2.x: it has the 2025-03-26..2025-11-25
``server-session-lifecycle`` scenario and the 2026-07-28 ``--spec-version`` modern wire; 0.1.16,
the latest stable, has neither). mcpbox is a tools-only server that also answers
``logging/setLevel``, so the applicable set is the fixture-free one:

Handshake era (2025-11-25 wire, the suite's TS SDK client): server-initialize, ping, tools-list
(every tool needs a description), server-sse-multiple-streams, dns-rebinding-protection,
server-session-lifecycle, logging-set-level.

Modern era (``--spec-version 2026-07-28``: stateless POSTs with MCP-Protocol-Version/Mcp-Method):
tools-list, dns-rebinding-protection, caching, http-header-validation, server-sse-multiple-streams,
server-stateless. Inside those, ``FIXTURE_CHECKS`` and ``CAPABILITY_CHECKS`` name the few checks
that cannot apply to a tools-only server without fixtures; they are shown but not counted.

Excluded, because they need the suite's "everything server" fixtures, which mcpbox does not have:
* ``tools-call-*`` call ``test_simple_text``, ``test_image_content``, ``test_tool_with_logging`` ... by
  name (and ``tools-call-simple-text``/``-error`` pass spuriously on a server that answers an unknown
  tool with ``isError: true``, so they prove nothing without the fixtures);
* ``json-schema-2020-12`` and ``elicitation-*`` call fixture tools; ``completion-complete`` needs a
  fixture prompt and the ``completions`` capability;
* ``resources-*``, ``prompts-*``, ``sep-2164-resource-not-found``: mcpbox serves no resources or
  prompts;
* ``http-custom-header-server-validation`` needs a fixture tool with ``x-mcp-header`` parameters;
* ``input-required-result-*`` need fixture tools that ask for sampling/elicitation/roots;
* ``server-sse-polling`` is pending (not in the active suite); ``tasks-*`` and ``sep-2640-skills-*``
  are extensions mcpbox does not implement.
"""

from __future__ import annotations

from dataclasses import dataclass

CONFORMANCE_VERSION = "0.2.0-alpha.12"
INSPECTOR_VERSION = "2.12.0"
MODERN = "2026-07-28"


@dataclass(frozen=True)
class SuiteScenario:
    name: str
    spec_version: str | None = None  # None: the suite's default (handshake-era) wire

    @property
    def label(self) -> str:
        return f"{self.name} [{self.spec_version or 'handshake'}]"


HANDSHAKE_SCENARIOS = tuple(
    SuiteScenario(name)
    for name in (
        "server-initialize",
        "ping",
        "tools-list",
        "server-sse-multiple-streams",
        "dns-rebinding-protection",
        "server-session-lifecycle",
        "logging-set-level",
    )
)

MODERN_SCENARIOS = tuple(
    SuiteScenario(name, MODERN)
    for name in (
        "tools-list",
        "dns-rebinding-protection",
        "caching",
        "http-header-validation",
        "server-sse-multiple-streams",
        "server-stateless",
    )
)

SCENARIOS = HANDSHAKE_SCENARIOS + MODERN_SCENARIOS

# Checks that call one of the suite's fixture tools by name. Without that tool the verdict says
# nothing about the server (a server answering an unknown tool with a JSON-RPC error gets "not
# testable", one answering with ``isError: true`` — the SDK — gets "executed the tool"), so while
# the server does not list the tool, a failure is shown but not counted. Once a server lists the
# tool, the check counts. Every other check of the scenario always counts.
FIXTURE_CHECKS: dict[str, str] = {
    "sep-2575-server-rejects-undeclared-capability": "test_missing_capability",
    "sep-2575-missing-capability-http-400": "test_missing_capability",
    "sep-2575-http-server-no-independent-requests-on-stream": "test_streaming_elicitation",
    "sep-2575-server-no-log-without-loglevel": "test_logging_tool",
}

# Checks of ``caching`` that call a list method whatever the server declared. A -32601 there is
# not counted when the server does not declare that capability (mcpbox serves tools only); once it
# declares the capability, the check counts.
CAPABILITY_CHECKS: dict[str, str] = {
    "sep-2549-prompts-list-caching-hints": "prompts",
    "sep-2549-resources-list-caching-hints": "resources",
    "sep-2549-resources-templates-list-caching-hints": "resources",
}

# The management tools the Inspector CLI must list on mcpbox (a subset: more may exist).
REQUIRED_MCPBOX_TOOLS = ("mcpbox_list_servers", "mcpbox_get_server", "mcpbox_create_server")
