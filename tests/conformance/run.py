"""``python -m tests.conformance.run``: the official MCP conformance suite and Inspector CLI vs mcpbox.

Starts a real ``mcpbox serve`` on 127.0.0.1 with a temp data dir (``--target sdk`` starts the
official SDK server instead, the reference that validates this runner), then runs each applicable
scenario (see ``tests/conformance/scenarios.py``) as its own suite invocation, reads the suite's
``checks.json``, and finally lists tools through the MCP Inspector CLI. Prints one line per
scenario and ``conformance: N passed, M failed of T``; exits 1 on any failure, 2 when the runner
itself cannot run (no Node 22, npm install failed, server did not start).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.bench.loadgen import LoadError, McpSession, wait_until_ready
from tests.bench.processes import ProcessRegistry, ServerProcess, free_port, sigterm_as_keyboard_interrupt
from tests.bench.scenarios import PYTHON, list_tool_names, mcpbox_argv, mcpbox_env
from tests.conformance.node_tools import NodeTools, ToolingError, ensure_packages, find_node
from tests.conformance.scenarios import (
    CAPABILITY_CHECKS,
    CONFORMANCE_VERSION,
    FIXTURE_CHECKS,
    INSPECTOR_VERSION,
    REQUIRED_MCPBOX_TOOLS,
    SCENARIOS,
    SuiteScenario,
)

CONFORMANCE_PACKAGE = "@modelcontextprotocol/conformance"
INSPECTOR_PACKAGE = "@modelcontextprotocol/inspector"
READY_TIMEOUT_SECONDS = 60.0
SCENARIO_TIMEOUT_SECONDS = 120.0
EXIT_FAILED = 1
EXIT_HARNESS = 2


@dataclass
class Outcome:
    label: str
    passed: bool
    checks_passed: int = 0
    checks_total: int = 0
    problems: list[str] = field(default_factory=list)
    not_counted: list[str] = field(default_factory=list)

    def line(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        text = f"  {verdict} {self.label:<46} {self.checks_passed}/{self.checks_total} checks"
        details = [f"      {p}" for p in self.problems] + [
            f"      (not counted) {n}" for n in self.not_counted
        ]
        return "\n".join([text, *details])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.conformance.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--target", choices=("mcpbox", "sdk"), default="mcpbox",
                        help="server under test: mcpbox serve (default) or the SDK reference")  # fmt: skip
    parser.add_argument("--url", help="test an already running server at this /mcp URL instead")
    parser.add_argument("--scenario", action="append", help="run only this scenario (repeatable)")
    parser.add_argument("--no-inspector", action="store_true", help="skip the Inspector CLI check")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (suite output, server log)")
    return parser.parse_args(argv)


def start_target(registry: ProcessRegistry, target: str, workdir: Path) -> ServerProcess:
    port = free_port()
    if target == "mcpbox":
        data_dir = workdir / "data"
        data_dir.mkdir()
        process = registry.start("mcpbox", mcpbox_argv(port, data_dir), port, env=mcpbox_env(data_dir))
    else:
        argv = [
            PYTHON,
            "-m",
            "tests.bench.sdk_server",
            "--port",
            str(port),
            "--mode",
            "stateful-sse",
            "--with-logging",
        ]
        process = registry.start("sdk", argv, port)
    try:
        asyncio.run(wait_until_ready(port, READY_TIMEOUT_SECONDS, alive=process.alive))
    except LoadError as exc:
        raise ToolingError(
            f"{target} did not become ready: {exc}\n--- log tail ---\n{process.log_tail()}"
        ) from exc
    return process


@dataclass(frozen=True)
class ServerFacts:
    """What the server declares: handshake capabilities and listed tool names."""

    capabilities: dict[str, Any]
    tools: frozenset[str]


def not_applicable(check: dict[str, Any], facts: ServerFacts) -> str | None:
    """Why a failed check does not apply to this server, or None when it counts."""
    check_id = str(check.get("id"))
    fixture = FIXTURE_CHECKS.get(check_id)
    if fixture and fixture not in facts.tools:
        return f"calls the suite's fixture tool {fixture}, which this server does not list"
    capability = CAPABILITY_CHECKS.get(check_id)
    if capability and capability not in facts.capabilities and "-32601" in str(check.get("errorMessage")):
        return f"server does not declare '{capability}'; the suite calls it regardless"
    return None


async def fetch_facts(url: str) -> ServerFacts:
    parts = urlsplit(url)
    session = await McpSession.open(parts.port or 80, parts.path or "/mcp")
    try:
        result = await session.initialize()
        tools = await list_tool_names(session)
    finally:
        session.close()
    capabilities = result.get("capabilities")
    return ServerFacts(capabilities if isinstance(capabilities, dict) else {}, frozenset(tools))


def run_scenario(
    tools: NodeTools, url: str, scenario: SuiteScenario, out_dir: Path, facts: ServerFacts
) -> Outcome:
    out_dir.mkdir(parents=True)
    command = [
        str(tools.cli("conformance")),
        "server",
        "--url",
        url,
        "--scenario",
        scenario.name,
        "-o",
        str(out_dir),
    ]
    if scenario.spec_version:
        command += ["--spec-version", scenario.spec_version]
    try:
        completed = subprocess.run(
            command,
            env=tools.env,
            capture_output=True,
            text=True,
            timeout=SCENARIO_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Outcome(
            scenario.label, False, problems=[f"suite timed out after {SCENARIO_TIMEOUT_SECONDS:.0f}s"]
        )
    checks = _read_checks(out_dir)
    # INFO and SKIPPED checks are notes, not verdicts: they count neither way.
    outcome = Outcome(scenario.label, False)
    for check in checks:
        status, check_id = check.get("status"), str(check.get("id"))
        text = str(check.get("errorMessage") or check.get("description", ""))[:300]
        message = f"{check_id}: {status} {text}"
        excuse = not_applicable(check, facts) if status == "FAILURE" else None
        if status in ("SUCCESS", "FAILURE", "WARNING") and excuse is None:
            outcome.checks_total += 1
        if status == "SUCCESS":
            outcome.checks_passed += 1
        elif excuse is not None:
            outcome.not_counted.append(f"{message} [{excuse}]")
        elif status == "FAILURE":
            outcome.problems.append(message)
        elif status == "WARNING":
            outcome.not_counted.append(message)
    if not checks:
        tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-15:])
        outcome.problems.append(f"no checks.json (exit {completed.returncode}):\n{tail}")
    elif completed.returncode != 0 and not outcome.problems and not outcome.not_counted:
        outcome.problems.append(f"suite exited {completed.returncode} without a failed check")
    outcome.passed = not outcome.problems
    return outcome


def _read_checks(out_dir: Path) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []
    for path in sorted(out_dir.glob("*/checks.json")):
        try:
            loaded = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(loaded, list):
            checks.extend(item for item in loaded if isinstance(item, dict))
    return checks


def run_inspector(tools: NodeTools, url: str, target: str) -> Outcome:
    label = f"inspector-cli tools/list [{INSPECTOR_VERSION}]"
    command = [str(tools.cli("mcp-inspector")), "--cli", url, "--transport", "http",
               "--method", "tools/list", "--format", "json"]  # fmt: skip
    env = dict(tools.env, MCP_INSPECTOR_SECRET_STORE="memory")
    try:
        completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        return Outcome(label, False, problems=["Inspector CLI timed out"])
    try:
        listed = json.loads(completed.stdout)["result"]["tools"]
        names = {str(tool["name"]) for tool in listed}
    except (ValueError, KeyError, TypeError):
        problem = f"exit {completed.returncode}; stdout {completed.stdout[:300]!r}"
        problem += f"; stderr {completed.stderr[:300]!r}"
        return Outcome(label, False, checks_total=1, problems=[problem])
    required = set(REQUIRED_MCPBOX_TOOLS) if target == "mcpbox" else {"echo"}
    missing = sorted(required - names)
    outcome = Outcome(label, not missing and completed.returncode == 0, checks_total=1)
    outcome.checks_passed = int(outcome.passed)
    if missing:
        outcome.problems.append(f"missing tools {missing}; listed {sorted(names)}")
    elif completed.returncode != 0:
        outcome.problems.append(f"exit {completed.returncode}: {completed.stderr[:300]}")
    else:
        management = sorted(name for name in names if name.startswith("mcpbox_"))
        outcome.not_counted.append(
            f"listed {len(names)} tools" + (f": {', '.join(management)}" if management else "")
        )
    return outcome


def run_all(args: argparse.Namespace, tools: NodeTools, workdir: Path, url: str) -> list[Outcome]:
    wanted = set(args.scenario or [])
    scenarios = [s for s in SCENARIOS if not wanted or s.name in wanted]
    outcomes: list[Outcome] = []
    facts = asyncio.run(fetch_facts(url))
    print(f"conformance: {CONFORMANCE_PACKAGE}@{CONFORMANCE_VERSION} against {url}")
    declared = ", ".join(sorted(facts.capabilities)) or "nothing"
    print(f"conformance: the server declares {declared}; lists {len(facts.tools)} tools")
    for index, scenario in enumerate(scenarios):
        out_dir = workdir / "suite" / f"{index:02d}-{scenario.name}"
        outcome = run_scenario(tools, url, scenario, out_dir, facts)
        print(outcome.line(), flush=True)
        outcomes.append(outcome)
    if not args.no_inspector:
        outcome = run_inspector(tools, url, args.target)
        print(outcome.line(), flush=True)
        outcomes.append(outcome)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="mcpbox-conformance-"))
    keep = args.keep
    try:
        with sigterm_as_keyboard_interrupt(), ProcessRegistry(workdir, server_cpu=None) as registry:
            tools = find_node()
            pins = {CONFORMANCE_PACKAGE: CONFORMANCE_VERSION}
            if not args.no_inspector:
                pins[INSPECTOR_PACKAGE] = INSPECTOR_VERSION
            ensure_packages(tools, pins)
            url = args.url or start_target(registry, args.target, workdir).base_url + "/mcp"
            outcomes = run_all(args, tools, workdir, url)
            keep = keep or not all(outcome.passed for outcome in outcomes)
    except ToolingError as exc:
        print(f"conformance: cannot run: {exc}", file=sys.stderr)
        keep = True
        return EXIT_HARNESS
    except KeyboardInterrupt:
        print("conformance: interrupted; server stopped", file=sys.stderr)
        return 130
    finally:
        if keep:
            print(f"conformance: work dir (suite output, server log) kept at {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    failed = sum(not outcome.passed for outcome in outcomes)
    print(f"conformance: {len(outcomes) - failed} passed, {failed} failed of {len(outcomes)}")
    return EXIT_FAILED if failed else 0


if __name__ == "__main__":
    sys.exit(main())
