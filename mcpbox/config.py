"""One frozen Config, fed by CLI flags > ``MCPBOX_*`` environment > TOML file > defaults.

Every setting is one row of ``SETTINGS``; ``docs/configuration.md`` documents each row and a test
keeps the two in step. No other module reads the environment: the CLI calls ``Config.load`` and
passes the result down. Secret settings are wrapped in ``Secret`` so they never print, and accept
``MCPBOX_<NAME>_FILE`` (systemd credentials) instead of the value itself.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcpbox.errors import ConfigError

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


def _default_data_dir() -> Path:
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
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def _parse(setting: Setting, raw: object, source: str) -> Any:
    """Turn a raw value (a string from env/CLI or a TOML value) into the setting's type."""
    where = f"{setting.name} (from {source})"
    kind = setting.kind
    try:
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            word = str(raw).strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
            raise ValueError("expected true or false")
        if kind is int:
            if isinstance(raw, bool):
                raise ValueError("expected an integer")
            value: Any = int(str(raw).strip(), 10) if not isinstance(raw, int) else raw
        elif kind is float:
            if isinstance(raw, bool):
                raise ValueError("expected a number")
            value = float(raw) if isinstance(raw, int | float) else float(str(raw).strip())
        elif kind is Path:
            value = Path(str(raw)).expanduser()
        elif kind is Secret:
            value = raw if isinstance(raw, Secret) else Secret(str(raw))
        elif kind is tuple:
            items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
            value = tuple(str(item).strip() for item in items if str(item).strip())
        else:
            if not isinstance(raw, str | int | float):
                raise ValueError("expected a string")
            value = str(raw)
    except ValueError as exc:
        raise ConfigError(f"invalid value for {where}: {exc}") from exc
    if kind in (int, float):
        if setting.minimum is not None and value < setting.minimum:
            raise ConfigError(f"invalid value for {where}: must be at least {setting.minimum}")
        if setting.maximum is not None and value > setting.maximum:
            raise ConfigError(f"invalid value for {where}: must be at most {setting.maximum}")
    if setting.choices and value not in setting.choices:
        raise ConfigError(f"invalid value for {where}: choose one of {', '.join(setting.choices)}")
    return value


def _read_secret_file(setting: Setting, path_text: str) -> Secret:
    path = Path(path_text).expanduser()
    try:
        return Secret(path.read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise ConfigError(f"cannot read {setting.env_name}_FILE ({path}): {exc.strerror}") from exc


@dataclass(frozen=True)
class Config:
    """Every setting of one mcpbox instance, resolved once at startup."""

    host: str
    port: int
    data_dir: Path
    database_url: str
    key_file: Path
    public_url: str
    allowed_origins: tuple[str, ...]
    log_level: str
    access_log: bool
    metrics_token: Secret | None
    max_body_bytes: int
    session_idle_seconds: int
    max_sessions: int
    max_sse_streams: int
    sse_keepalive_seconds: int
    page_size_max: int
    setup_token_ttl_seconds: int
    activity_flush_seconds: float
    activity_batch_size: int
    activity_queue_max: int
    sandbox_pool_size: int
    sandbox_idle_workers: int
    sandbox_warm_per_version: int
    sandbox_queue_depth: int
    sandbox_queue_timeout_seconds: float
    sandbox_worker_max_calls: int
    sandbox_worker_idle_seconds: int
    sandbox_worker_max_rss_mib: int
    sandbox_require_isolation: bool
    call_timeout_seconds: float
    call_cpu_seconds: int
    call_memory_mib: int
    call_stdout_bytes: int
    call_result_bytes: int
    call_code_bytes: int
    call_http_response_bytes: int
    call_http_requests: int
    call_http_timeout_seconds: float
    config_file: Path | None = None

    @classmethod
    def load(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        file: Path | None = None,
        overrides: Mapping[str, object] | None = None,
    ) -> Config:
        """Resolve every setting: overrides (CLI flags) > environment > TOML file > default.

        ``file`` may also come from ``MCPBOX_CONFIG``. Unknown keys in the file or unknown
        ``MCPBOX_*`` variables are errors, so a typo never silently falls back to a default.
        """
        env = dict(environ or {})
        overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
        unknown = set(overrides) - set(SETTINGS_BY_NAME)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        if file is None and env.get(ENV_PREFIX + "CONFIG"):
            file = Path(env[ENV_PREFIX + "CONFIG"]).expanduser()
        file_values = _read_toml(file) if file is not None else {}
        _reject_unknown_env(env)

        values: dict[str, Any] = {}
        for setting in SETTINGS:
            if setting.name in overrides:
                values[setting.name] = _parse(setting, overrides[setting.name], "command line")
            elif setting.env_name in env:
                values[setting.name] = _parse(setting, env[setting.env_name], setting.env_name)
            elif setting.kind is Secret and setting.env_name + "_FILE" in env:
                values[setting.name] = _read_secret_file(setting, env[setting.env_name + "_FILE"])
            elif setting.name in file_values:
                values[setting.name] = _parse(setting, file_values[setting.name], str(file))
            else:
                values[setting.name] = setting.default
        if values["data_dir"] is None:
            values["data_dir"] = _default_data_dir()
        data_dir = Path(values["data_dir"]).expanduser().absolute()
        values["data_dir"] = data_dir
        if values["key_file"] is None:
            values["key_file"] = data_dir / "keys.json"
        if not values["database_url"]:
            values["database_url"] = f"sqlite+aiosqlite:///{data_dir / 'mcpbox.db'}"
        _check_host(values["host"])
        return cls(**values, config_file=file)

    def replace(self, **changes: object) -> Config:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def is_loopback_bind(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host == "localhost"

    @property
    def base_url(self) -> str:
        """The URL printed for humans: ``public_url`` if set, else the bind address."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    @property
    def sqlite_path(self) -> Path | None:
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix):
            return Path(self.database_url[len(prefix) :])
        return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    section = data.get("mcpbox", data)
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [mcpbox] must be a table")
    unknown = set(section) - set(SETTINGS_BY_NAME)
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting(s) {', '.join(sorted(unknown))}")
    for name in section:
        if SETTINGS_BY_NAME[name].kind is Secret:
            raise ConfigError(
                f"config file {path}: {name} is a secret; set it with "
                f"{SETTINGS_BY_NAME[name].env_name} or {SETTINGS_BY_NAME[name].env_name}_FILE"
            )
    return section


# Variables read by CLI commands rather than by Config (the stdio bridge's target and token).
_NON_SETTING_ENV = frozenset({ENV_PREFIX + "CONFIG", ENV_PREFIX + "URL", ENV_PREFIX + "TOKEN"})


def _reject_unknown_env(env: Mapping[str, str]) -> None:
    known = {s.env_name for s in SETTINGS} | {s.env_name + "_FILE" for s in SETTINGS if s.kind is Secret}
    unknown = [k for k in env if k.startswith(ENV_PREFIX) and k not in known and k not in _NON_SETTING_ENV]
    if unknown:
        raise ConfigError(f"unknown environment variable(s): {', '.join(sorted(unknown))}")


def _check_host(host: str) -> None:
    if host == "localhost":
        return
    try:
        ipaddress.ip_address(host)
    except ValueError as exc:
        raise ConfigError(f"invalid value for host: {host!r} is not an IP address") from exc
