"""One frozen Config, fed by CLI flags > ``MCPBOX_*`` environment > TOML file > defaults.

Every setting is one row of ``SETTINGS`` (``mcpbox.config.settings``); ``docs/configuration.md``
documents each row and a test keeps the two in step. No other module reads the environment: the
CLI calls ``Config.load`` and passes the result down. Secret settings are wrapped in ``Secret``
so they never print, and accept ``MCPBOX_<NAME>_FILE`` (systemd credentials) instead of the value
itself.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcpbox.config.settings import (
    ENV_PREFIX,
    SETTINGS,
    SETTINGS_BY_NAME,
    Secret,
    Setting,
    default_data_dir,
)
from mcpbox.errors import ConfigError

__all__ = ["SETTINGS", "Config", "Secret", "Setting"]

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
            values["data_dir"] = default_data_dir()
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
