"""Every setting mcpbox has, one row each: name, type, default, bounds and the sentence the docs show.

``docs/configuration.md`` documents each row and a test keeps the two in step; ``mcpbox.config``
reads the rows to build the one frozen ``Config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PREFIX = "MCPBOX_"


class Secret:
    """A secret string that never shows itself in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Setting:
    """One configurable value: its type, default, bounds and the sentence the docs show."""

    name: str
    kind: type  # str, int, float, bool, Path, Secret, tuple (comma-separated strings)
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def env_name(self) -> str:
        return ENV_PREFIX + self.name.upper()


def default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "mcpbox"


SETTINGS: tuple[Setting, ...] = (
    # Where and how to listen.
    Setting("host", str, "127.0.0.1", "Address the HTTP server binds to. Loopback by default."),
    Setting("port", int, 8000, "TCP port of the HTTP server.", minimum=0, maximum=65535),
    Setting(
        "data_dir",
        Path,
        None,
        "Directory for the database, key file and packages (default `~/.local/share/mcpbox`).",
    ),
    Setting(
        "database_url",
        str,
        "",
        "SQLAlchemy URL of the database; empty means `sqlite+aiosqlite:///<data_dir>/mcpbox.db`.",
    ),
    Setting("key_file", Path, None, "Encryption keyring file (mode 0600); default `<data_dir>/keys.json`."),
    Setting(
        "public_url",
        str,
        "",
        "Base URL clients use when mcpbox is behind a proxy or tunnel "
        "(e.g. `https://box.example.org`); used in printed URLs and allowed as an Origin.",
    ),
    Setting(
        "allowed_origins",
        tuple,
        (),
        "Extra browser origins allowed to call `/mcp` "
        "(comma-separated). Loopback origins are always allowed.",
    ),
    # Logging.
    Setting(
        "log_level",
        str,
        "info",
        "Minimum level of the JSON log on stdout.",
        choices=("debug", "info", "warning", "error"),
    ),
    Setting(
        "access_log",
        bool,
        False,
        "Log every HTTP request line (the activity log records MCP requests either way).",
    ),
    Setting(
        "metrics_token",
        Secret,
        None,
        "Bearer token required by `/metrics`; unset means `/metrics` answers loopback clients only.",
    ),
    # MCP gateway.
    Setting(
        "max_body_bytes",
        int,
        4 * 1024 * 1024,
        "Largest accepted `/mcp` request body; larger gets HTTP 413.",
        minimum=1024,
        maximum=64 * 1024 * 1024,
    ),
    Setting(
        "session_idle_seconds",
        int,
        3600,
        "An MCP session unused this long expires (later requests get 404).",
        minimum=10,
        maximum=7 * 86400,
    ),
    Setting(
        "max_sessions",
        int,
        1000,
        "Most live MCP sessions; the oldest idle one is evicted beyond this.",
        minimum=1,
        maximum=100_000,
    ),
    Setting(
        "max_sse_streams",
        int,
        32,
        "Most concurrently open GET `/mcp` SSE streams.",
        minimum=1,
        maximum=10_000,
    ),
    Setting("sse_keepalive_seconds", int, 15, "Interval of SSE keep-alive comments.", minimum=1, maximum=300),
    Setting(
        "page_size_max",
        int,
        100,
        "Cap on every list's page size (tools/list, management tools, API).",
        minimum=1,
        maximum=1000,
    ),
    # First run.
    Setting(
        "setup_token_ttl_seconds",
        int,
        86400,
        "Lifetime of the one-time admin setup token.",
        minimum=60,
        maximum=30 * 86400,
    ),
    # Activity log.
    Setting(
        "activity_flush_seconds",
        float,
        0.5,
        "Longest time an activity event waits before it is written.",
        minimum=0.01,
        maximum=60,
    ),
    Setting(
        "activity_batch_size",
        int,
        200,
        "Most activity events written in one transaction.",
        minimum=1,
        maximum=100_000,
    ),
    Setting(
        "activity_queue_max",
        int,
        100_000,
        "Events held in memory before new ones are dropped (and counted in `/metrics`).",
        minimum=100,
        maximum=10_000_000,
    ),
    # Sandbox pool.
    Setting(
        "sandbox_pool_size", int, 8, "Most sandbox worker processes alive at once.", minimum=1, maximum=256
    ),
    Setting(
        "sandbox_idle_workers", int, 4, "Pre-forked idle one-shot workers kept ready.", minimum=0, maximum=256
    ),
    Setting(
        "sandbox_warm_per_version",
        int,
        4,
        "Most warm workers bound to one tool version.",
        minimum=1,
        maximum=64,
    ),
    Setting(
        "sandbox_queue_depth",
        int,
        64,
        "Calls that may wait for a worker before new calls get a busy error.",
        minimum=0,
        maximum=10_000,
    ),
    Setting(
        "sandbox_queue_timeout_seconds",
        float,
        10.0,
        "Longest a call waits for a worker.",
        minimum=0.1,
        maximum=300,
    ),
    Setting(
        "sandbox_worker_max_calls",
        int,
        10_000,
        "A warm worker is retired after at most this many calls (each draws its own limit "
        "from the last quarter).",
        minimum=1,
        maximum=1_000_000,
    ),
    Setting(
        "sandbox_worker_idle_seconds",
        int,
        300,
        "A warm worker idle this long is retired.",
        minimum=1,
        maximum=86400,
    ),
    Setting(
        "sandbox_worker_max_rss_mib",
        int,
        200,
        "A warm worker whose RSS passes this is retired.",
        minimum=16,
        maximum=4096,
    ),
    Setting(
        "sandbox_require_isolation",
        bool,
        False,
        "Refuse to start unless every OS isolation "
        "layer (user+network namespace, Landlock, no-new-privileges, rlimits) is active.",
    ),
    # Per-call limits (defaults; hard caps are the maxima).
    Setting(
        "call_timeout_seconds", float, 30.0, "Wall-clock limit of one tool call.", minimum=0.1, maximum=300
    ),
    Setting("call_cpu_seconds", int, 30, "CPU-time limit of one tool call.", minimum=1, maximum=300),
    Setting("call_memory_mib", int, 256, "Address-space limit of a worker.", minimum=64, maximum=4096),
    Setting(
        "call_stdout_bytes",
        int,
        64 * 1024,
        "Captured `print` output kept per call.",
        minimum=1024,
        maximum=16 * 1024 * 1024,
    ),
    Setting(
        "call_result_bytes",
        int,
        1024 * 1024,
        "Largest serialised tool result.",
        minimum=1024,
        maximum=64 * 1024 * 1024,
    ),
    Setting("call_code_bytes", int, 100_000, "Largest tool source.", minimum=1024, maximum=1_000_000),
    Setting(
        "call_http_response_bytes",
        int,
        10 * 1024 * 1024,
        "Largest HTTP response body a tool may receive.",
        minimum=1024,
        maximum=100 * 1024 * 1024,
    ),
    Setting("call_http_requests", int, 32, "Most HTTP requests one call may make.", minimum=0, maximum=1000),
    Setting(
        "call_http_timeout_seconds",
        float,
        15.0,
        "Time limit of one HTTP request of a tool.",
        minimum=0.1,
        maximum=300,
    ),
)

SETTINGS_BY_NAME: Mapping[str, Setting] = {s.name: s for s in SETTINGS}
