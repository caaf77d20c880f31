"""Running tool code in the sandbox on behalf of a server: grants, secrets, redaction, logs.

Every execution path goes through here, so the rules hold for all of them: the server's secrets
are decrypted for the call and never leave the process except inside the worker's call frame;
the egress grant is built from the server's approved hosts and the network policy; secret values
are redacted from results, output, errors and logs when the policy says so; each run is written
to the execution log with the egress it attempted.

What a server's calls need (secrets, allowlists, policy) is cached per server and dropped by the
catalog watcher whenever any of it changes, so a published call costs no database round trip.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mcpbox.crypto.keyring import Keyring
from mcpbox.db import secret_store
from mcpbox.db.engine import Database
from mcpbox.db.execution_log_store import NewExecutionLog
from mcpbox.db.models import utcnow
from mcpbox.errors import LimitExceeded, SandboxError
from mcpbox.sandbox.egress import EgressAttempt, EgressGrant
from mcpbox.sandbox.pool import SandboxPool
from mcpbox.sandbox.redaction import Redactor
from mcpbox.sandbox.worker.policy.modules import DEFAULT_MODULES
from mcpbox.sandbox.worker_handle import CallOutcome
from mcpbox.tools.allowlists import egress_rules_for_server, module_allowlist_for_server
from mcpbox.tools.execution_log_writer import ExecutionLogWriter
from mcpbox.tools.exposure import ExposedTool
from mcpbox.tools.policy import SecurityPolicy, load_policy

logger = logging.getLogger(__name__)
NO_SERVER = "(none)"  # owner of test runs not tied to a server: no hosts, no secrets
RESULT_SUMMARY_CHARS = 2000


@dataclass(frozen=True, slots=True)
class RunReport:
    """What a caller learns about one sandboxed run."""

    ok: bool
    result: Any
    result_is_text: bool
    error: str | None
    error_kind: str | None
    stdout: str
    stdout_truncated: bool
    duration_ms: float
    egress: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "result": self.result,
            "error": self.error,
            "error_kind": self.error_kind,
            "stdout": self.stdout,
            "stdout_truncated": self.stdout_truncated,
            "duration_ms": round(self.duration_ms, 3),
            "egress": self.egress,
        }


@dataclass(frozen=True, slots=True)
class ServerContext:
    """Everything a server's calls need that changes only when the owner changes something."""

    server: str
    secrets: Mapping[str, str]
    allowed_modules: frozenset[str]
    approved_hosts: frozenset[str]
    approved_addresses: frozenset[str]
    policy: SecurityPolicy
    redactor: Redactor | None
    max_requests: int = 32  # call_http_requests

    def new_grant(self) -> EgressGrant:
        """A fresh grant per call: it counts and records that call's requests."""
        return EgressGrant(
            server=self.server,
            approved_hosts=self.approved_hosts,
            approved_addresses=self.approved_addresses,
            policy=self.policy.network_access_policy,
            max_requests=self.max_requests,
            secret_values=self.secrets,
        )


def attempt_json(attempt: EgressAttempt) -> dict[str, Any]:
    return {
        "method": attempt.method,
        "url": f"{attempt.scheme}://{attempt.host}:{attempt.port}{attempt.path}",
        "address": attempt.address,
        "status": attempt.status,
        "bytes": attempt.bytes,
        "duration_ms": round(attempt.duration_ms, 3),
        "outcome": attempt.outcome,
        "refused_why": attempt.refused_why,
        "error": attempt.error,
    }


def redact_value(value: Any, redactor: Redactor) -> Any:
    """Redact every string inside a JSON value (keys too), leaving its shape intact."""
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, list):
        return [redact_value(item, redactor) for item in value]
    if isinstance(value, dict):
        return {redactor.redact(str(key)): redact_value(item, redactor) for key, item in value.items()}
    return value


class ToolRunner:
    def __init__(
        self,
        database: Database,
        keyring: Keyring,
        pool: SandboxPool,
        logs: ExecutionLogWriter,
        *,
        max_requests: int = 32,
    ) -> None:
        self._max_requests = max_requests  # call_http_requests: the grant's cap on requests per call
        self._database = database
        self._keyring = keyring
        self._pool = pool
        self._logs = logs
        self._contexts: dict[str, ServerContext] = {}

    def invalidate(self) -> None:
        """Drop cached server contexts (secrets, allowlists or policy changed)."""
        self._contexts.clear()

    async def modules_for(self, server: str) -> frozenset[str]:
        return (await self.context_for(server)).allowed_modules

    async def context_for(self, server: str | None) -> ServerContext:
        key = server or NO_SERVER
        cached = self._contexts.get(key)
        if cached is not None:
            return cached
        policy = await load_policy(self._database)
        if server is None:
            context = ServerContext(
                NO_SERVER, {}, DEFAULT_MODULES, frozenset(), frozenset(), policy, None, self._max_requests
            )
        else:
            secrets = await secret_store.load_secret_values(self._database, server, self._keyring)
            hosts, addresses = await egress_rules_for_server(self._database, server)
            modules = await module_allowlist_for_server(self._database, server)
            redactor = Redactor(secrets) if policy.redact_secrets_in_output and secrets else None
            context = ServerContext(
                server, secrets, modules, hosts, addresses, policy, redactor, self._max_requests
            )
        self._contexts[key] = context
        return context

    async def test_run(
        self,
        source: str,
        arguments: Mapping[str, Any],
        *,
        server: str | None,
        requested_by: str,
        tool: str | None = None,
        version: int | None = None,
        content_hash: str | None = None,
    ) -> RunReport:
        """Run source once in a one-shot worker (nothing survives), log it, report it."""
        ctx = await self.context_for(server)
        grant = ctx.new_grant()
        try:
            outcome = await self._pool.run_once(
                source, dict(arguments), secrets=ctx.secrets, grant=grant, allowed_modules=ctx.allowed_modules
            )
            report = self._report(outcome, ctx, grant)
        except SandboxError as exc:
            report = self._failure(exc, grant)
        self._log(
            report,
            ctx,
            kind="test",
            arguments=arguments,
            requested_by=requested_by,
            tool=tool,
            version=version,
            content_hash=content_hash,
        )
        return report

    async def published_call(
        self, exposed: ExposedTool, arguments: Mapping[str, Any], *, requested_by: str
    ) -> RunReport:
        """Run an approved version in a warm worker bound to that version and its server."""
        ctx = await self.context_for(exposed.server)
        grant = ctx.new_grant()
        try:
            outcome = await self._pool.run_warm(
                exposed.content_hash,
                exposed.server,
                exposed.code,
                dict(arguments),
                secrets=ctx.secrets,
                grant=grant,
                allowed_modules=ctx.allowed_modules,
            )
            report = self._report(outcome, ctx, grant)
        except SandboxError as exc:
            report = self._failure(exc, grant)
        self._log(
            report,
            ctx,
            kind="call",
            arguments=arguments,
            requested_by=requested_by,
            tool=exposed.tool,
            version=exposed.version,
            content_hash=exposed.content_hash,
        )
        return report

    def _report(self, outcome: CallOutcome, ctx: ServerContext, grant: EgressGrant) -> RunReport:
        result: Any = None
        if outcome.ok and outcome.result_json is not None:
            result = json.loads(outcome.result_json)
        stdout, error = outcome.stdout, outcome.error
        if ctx.redactor is not None:
            result = redact_value(result, ctx.redactor)
            stdout = ctx.redactor.redact(stdout)
            error = ctx.redactor.redact(error) if error is not None else None
        return RunReport(
            ok=outcome.ok,
            result=result,
            result_is_text=outcome.result_is_text,
            error=error,
            error_kind=outcome.error_kind,
            stdout=stdout,
            stdout_truncated=outcome.stdout_truncated,
            duration_ms=outcome.duration_ms,
            egress=[attempt_json(attempt) for attempt in grant.attempts],
        )

    @staticmethod
    def _failure(exc: SandboxError, grant: EgressGrant) -> RunReport:
        return RunReport(
            ok=False,
            result=None,
            result_is_text=False,
            error=exc.public_message,
            error_kind="limit" if isinstance(exc, LimitExceeded) else "sandbox",
            stdout="",
            stdout_truncated=False,
            duration_ms=0.0,
            egress=[attempt_json(attempt) for attempt in grant.attempts],
        )

    def _log(
        self,
        report: RunReport,
        ctx: ServerContext,
        *,
        kind: str,
        arguments: Mapping[str, Any],
        requested_by: str,
        tool: str | None,
        version: int | None,
        content_hash: str | None,
    ) -> None:
        logged_arguments: Any = dict(arguments)
        if ctx.redactor is not None:
            logged_arguments = redact_value(logged_arguments, ctx.redactor)
        summary = report.error or json.dumps(report.result, ensure_ascii=False)[:RESULT_SUMMARY_CHARS]
        self._logs.record(
            NewExecutionLog(
                server=ctx.server,
                kind=kind,  # type: ignore[arg-type]
                requested_by=requested_by,
                outcome="ok" if report.ok else "error",
                duration_ms=report.duration_ms,
                tool=tool,
                version=version,
                content_hash=content_hash,
                arguments=logged_arguments,
                result_summary=summary,
                stdout=report.stdout,
                egress=report.egress,
                error=report.error,
                at=utcnow(),  # when it ran, not when the batch is written
            )
        )
