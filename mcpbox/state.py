"""AppState: every long-lived resource of one mcpbox instance, opened and closed in one place.

The Starlette lifespan enters ``open_app_state`` and stores the result on ``app.state``; request
handlers reach it through ``get_state``. Resources open in dependency order and close in reverse,
each with a deadline, so a shutdown never hangs and never loses buffered activity.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import anyio
from starlette.requests import HTTPConnection

from mcpbox.activity.bus import ChangeBus
from mcpbox.activity.events import ActivityEvent, Outcome
from mcpbox.activity.recorder import ActivityRecorder
from mcpbox.approvals.hooks import Hooks
from mcpbox.auth import admin_store
from mcpbox.auth.login import purge_expired_auth_state
from mcpbox.auth.policy import AuthPolicy
from mcpbox.config import Config
from mcpbox.crypto.keyring import Keyring
from mcpbox.db import schema_version, setting_store, setup_token_store
from mcpbox.db.engine import Database, open_database
from mcpbox.db.key_rotation import open_keyring
from mcpbox.errors import MCPBoxError, StartupError, StorageError
from mcpbox.management.catalog import Caller, ToolCatalog
from mcpbox.management.context import ManagementContext
from mcpbox.management.published import CombinedCatalog, PublishedCatalog
from mcpbox.management.registry import ManagementCatalog
from mcpbox.management.tools import build_registry
from mcpbox.observability.server_metrics import ServerMetrics
from mcpbox.sandbox.egress import EgressBroker
from mcpbox.sandbox.pool import PoolState, SandboxPool
from mcpbox.tools.execution import ToolRunner
from mcpbox.tools.execution_log_writer import ExecutionLogWriter, create_execution_log_writer
from mcpbox.tools.packages import PackageInstaller, PipAuditor
from mcpbox.tools.retention import run_retention
from mcpbox.tools.snapshot import CatalogCache
from mcpbox.tools.watcher import CatalogWatcher

logger = logging.getLogger(__name__)

REMOTE_TOOL_EDITING = "remote_tool_editing"


@dataclass
class AppState:
    config: Config
    database: Database
    keyring: Keyring
    recorder: ActivityRecorder
    bus: ChangeBus
    metrics: ServerMetrics
    catalog: ToolCatalog
    pool: SandboxPool
    egress: EgressBroker
    runner: ToolRunner
    execution_logs: ExecutionLogWriter
    installer: PackageInstaller
    catalog_cache: CatalogCache
    watcher: CatalogWatcher
    started_at: float = field(default_factory=time.time)
    setup_token: str | None = None  # plaintext only in memory, for the one banner that shows it

    @property
    def hooks(self) -> Hooks:
        """What domain services call when they change something others must react to."""
        return Hooks(
            record=self.observe,
            exposure_changed=self.watcher.local_change,
            allowlists_changed=self._allowlists_changed,
        )

    def _allowlists_changed(self, server: str) -> None:
        # Warm workers were built with the old module/host allowlist: retire them.
        self.pool.retire(server_key=server)
        self.watcher.local_change()

    def observe(self, event: ActivityEvent) -> None:
        """The single sink for activity: updates metrics, then queues the event for the log."""
        metrics = self.metrics
        if event.name == "mcp.request" and event.method:
            metrics.mcp_requests.inc(event.method, event.outcome.value)
            if event.duration_ms is not None:
                metrics.mcp_request_seconds.observe(event.duration_ms / 1000.0, event.method)
            if event.method == "tools/call" and event.tool:
                server, _, tool = event.tool.rpartition("__")
                server = server or "mcpbox"
                metrics.tool_calls.inc(server, tool, event.outcome.value)
                if event.duration_ms is not None:
                    metrics.tool_call_seconds.observe(event.duration_ms / 1000.0, server, tool)
        if event.outcome is Outcome.DENIED:
            metrics.security_denials.inc(event.name)
        self.recorder.record(event)

    def management_context(self, caller: Caller) -> ManagementContext:
        return ManagementContext(
            caller=caller,
            config=self.config,
            database=self.database,
            keyring=self.keyring,
            catalog=self.catalog_cache,
            catalog_changed=self.watcher.local_change,
            record=self.observe,
            pool=self.pool,
            runner=self.runner,
            hooks=self.hooks,
            installer=self.installer,
        )

    def readiness_checks(self) -> dict[str, dict[str, object]]:
        """Readiness of the in-process services (the database is pinged by the endpoint)."""
        recorder, pool = self.recorder, self.pool
        isolation = pool.isolation
        return {
            "activity": {"ok": recorder.is_running, "queued": recorder.queued, "dropped": recorder.dropped},
            "sandbox": {
                "ok": pool.state is PoolState.RUNNING,
                "state": pool.state.value,
                "workers": pool.size,
                "busy": pool.busy,
                "queued": pool.queued,
            },
            "isolation": {
                # Degraded isolation is reported loudly but is not "not ready" unless required.
                "ok": isolation is not None
                and (isolation.complete or not self.config.sandbox_require_isolation),
                **(isolation.to_dict() if isolation is not None else {"complete": False, "layers": []}),
            },
        }

    async def remote_tool_editing_allowed(self) -> bool:
        return await setting_store.get_setting(self.database, REMOTE_TOOL_EDITING, default="off") == "on"


def prepare_data_dir(config: Config) -> None:
    """Create the data directory private to its owner; refuse one we cannot write."""
    try:
        config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"cannot create data directory {config.data_dir}: {exc.strerror}") from exc
    if not os.access(config.data_dir, os.W_OK | os.X_OK):
        raise StartupError(f"data directory {config.data_dir} is not writable by this user")


@asynccontextmanager
async def open_app_state(config: Config, *, bus: ChangeBus | None = None) -> AsyncIterator[AppState]:
    """Open every resource in dependency order; close in reverse on exit.

    ``bus`` is the gateway's change bus when the gateway was built first (two-phase start).
    """
    prepare_data_dir(config)
    await schema_version.ensure_current(config)
    async with AsyncExitStack() as stack:
        database = await open_database(config)
        stack.push_async_callback(database.close)
        keyring = await open_keyring(config, database)
        recorder = ActivityRecorder(
            database,
            flush_seconds=config.activity_flush_seconds,
            batch_size=config.activity_batch_size,
            queue_max=config.activity_queue_max,
        )
        # Background tasks end by themselves when their owner is closed; nothing is cancelled
        # mid-write. Callbacks registered after the task group run before it is awaited.
        task_group = await stack.enter_async_context(anyio.create_task_group())
        task_group.start_soon(recorder.run)
        stack.push_async_callback(recorder.close)
        execution_logs = create_execution_log_writer(database, config)
        task_group.start_soon(execution_logs.run)
        stack.push_async_callback(execution_logs.close)
        egress = EgressBroker(
            max_response_bytes=config.call_http_response_bytes,
            timeout_seconds=config.call_http_timeout_seconds,
        )
        stack.push_async_callback(egress.aclose)
        pool = SandboxPool(config, egress, emit=recorder.record)
        # Closed first on exit (registered last): workers die before the recorder and database go.
        stack.push_async_callback(pool.close)
        if config.sandbox_require_isolation:
            await pool.start()  # a missing layer is a startup failure (exit 3)
        else:
            # Serve MCP at once; readiness waits for the pool. Shutdown cancels an unfinished start
            # (registered after pool.close, so it runs first).
            start_scope = anyio.CancelScope()
            task_group.start_soon(_start_pool, pool, start_scope)
            stack.callback(start_scope.cancel)
        metrics = ServerMetrics.create()
        bus = bus or ChangeBus()
        catalog_cache = CatalogCache(database)
        runner = ToolRunner(database, keyring, pool, execution_logs, max_requests=config.call_http_requests)
        watcher = CatalogWatcher(
            database,
            bus,
            invalidate=(catalog_cache.invalidate, runner.invalidate),
            # Secrets, allowlists or policy changed (perhaps from the CLI): warm workers hold
            # the old ones, so retire them all; the next call starts fresh.
            on_context_change=lambda: _retire_all(pool),
            # A version no longer exposed must not keep a warm worker (and its secrets) alive.
            on_exposure_change=lambda: _retire_all(pool),
        )
        await watcher.check()  # baseline fingerprint, so the first real change is noticed
        task_group.start_soon(watcher.run)
        stack.callback(watcher.stop)
        state = AppState(
            config=config,
            database=database,
            keyring=keyring,
            recorder=recorder,
            bus=bus,
            metrics=metrics,
            pool=pool,
            egress=egress,
            runner=runner,
            execution_logs=execution_logs,
            installer=PackageInstaller(config.data_dir / "packages", auditor=PipAuditor()),
            catalog_cache=catalog_cache,
            watcher=watcher,
            catalog=CombinedCatalog(
                ManagementCatalog(
                    build_registry(),
                    lambda caller: state.management_context(caller),
                    lambda: state.remote_tool_editing_allowed(),
                ),
                PublishedCatalog(database, catalog_cache, runner),
            ),
        )
        _register_gauges(state)
        retention_scope = anyio.CancelScope()
        task_group.start_soon(_run_retention, state, retention_scope)
        stack.callback(retention_scope.cancel)
        if not await admin_store.admin_exists(database):
            # First run (or no admin yet): a fresh one-time token for the setup page.
            state.setup_token = await setup_token_store.issue_setup_token(
                database, ttl_seconds=config.setup_token_ttl_seconds
            )
        state.observe(ActivityEvent(name="server.started_up", actor="local"))
        yield state
        state.observe(ActivityEvent(name="server.shutting_down", actor="local"))


def _retire_all(pool: SandboxPool) -> None:
    pool.retire()


async def _start_pool(pool: SandboxPool, scope: anyio.CancelScope) -> None:
    with scope:
        try:
            await pool.start()
        except MCPBoxError:
            logger.exception("the sandbox pool could not start; tool calls will fail until restart")


async def _run_retention(state: AppState, scope: anyio.CancelScope) -> None:
    with scope:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(run_retention, state.database, state.hooks)
            tasks.start_soon(_purge_auth_state, state.database)


async def _purge_auth_state(database: Database) -> None:
    """Expired admin sessions and stale login-throttle rows, hourly."""
    while True:
        try:
            with anyio.CancelScope(shield=True):
                await purge_expired_auth_state(database, AuthPolicy())
        except StorageError:
            logger.exception("purging expired admin sessions failed; retrying in an hour")
        await anyio.sleep(3600)


def _register_gauges(state: AppState) -> None:
    registry, pool, recorder = state.metrics.registry, state.pool, state.recorder
    registry.gauge(
        "mcpbox_activity_dropped_total",
        "Activity events dropped (queue full).",
        lambda: float(recorder.dropped),
    )
    registry.gauge("mcpbox_sandbox_workers", "Live sandbox worker processes.", lambda: float(pool.size))
    registry.gauge("mcpbox_sandbox_workers_busy", "Sandbox workers running a call.", lambda: float(pool.busy))
    registry.gauge("mcpbox_sandbox_workers_idle", "Idle sandbox workers.", lambda: float(pool.idle))
    registry.gauge("mcpbox_sandbox_queue", "Calls waiting for a sandbox worker.", lambda: float(pool.queued))
    registry.gauge("mcpbox_sandbox_restarts_total", "Zygote restarts.", lambda: float(pool.restarts))
    registry.gauge(
        "mcpbox_sandbox_kills_total",
        "Workers killed (timeout, limit, cancel, crash).",
        lambda: float(pool.kills),
    )


def get_state(connection: HTTPConnection) -> AppState:
    state: AppState = connection.app.state.mcpbox
    return state
