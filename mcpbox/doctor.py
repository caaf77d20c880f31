"""``mcpbox check``: what an owner needs to know before trusting this box with their API keys.

Each check reads the real thing (the key file's mode, the database's revision, a live sandbox
worker's confinement) rather than assuming. Nothing here changes state: a missing database or key
file is reported, not created.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field

from mcpbox import __version__
from mcpbox.config import Config
from mcpbox.crypto.keyring import Keyring
from mcpbox.db import migrate
from mcpbox.errors import MCPBoxError
from mcpbox.sandbox.isolation import probe_isolation


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    warning: bool = False  # reported, but does not fail `mcpbox check`


@dataclass
class DoctorReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok or check.warning for check in self.checks)

    def add(self, name: str, ok: bool, detail: str, *, warning: bool = False) -> None:
        self.checks.append(Check(name, ok, detail, warning))

    def lines(self) -> list[str]:
        out = [f"mcpbox {__version__} check"]
        for check in self.checks:
            mark = "ok  " if check.ok else ("warn" if check.warning else "FAIL")
            out.append(f"[{mark}] {check.name}: {check.detail}")
        out.append("all checks passed" if self.ok else "some checks failed")
        return out


def _check_config(config: Config, report: DoctorReport) -> None:
    source = str(config.config_file) if config.config_file else "environment and defaults"
    report.add("config", True, f"loaded from {source}; bind {config.host}:{config.port}")
    if not config.is_loopback_bind:
        report.add(
            "bind",
            False,
            f"{config.host} is not loopback: the gateway is reachable from the "
            "network; remote mode needs authentication in front of it",
            warning=True,
        )


def _check_data_dir(config: Config, report: DoctorReport) -> bool:
    path = config.data_dir
    if not path.exists():
        report.add("data dir", False, f"{path} does not exist yet; `mcpbox serve` creates it", warning=True)
        return False
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        report.add("data dir", False, f"{path} has mode {mode:o}; run `chmod 700 {path}`")
    elif not os.access(path, os.W_OK | os.X_OK):
        report.add("data dir", False, f"{path} is not writable by this user")
    else:
        report.add("data dir", True, f"{path} (mode {mode:o})")
    return True


def _check_key_file(config: Config, report: DoctorReport) -> None:
    path = config.key_file
    if not path.exists():
        report.add("key file", False, f"{path} does not exist yet; `mcpbox serve` creates it", warning=True)
        return
    try:
        keyring = Keyring.load(path)
    except MCPBoxError as exc:
        report.add("key file", False, str(exc))
        return
    report.add(
        "key file", True, f"{path} (mode 600, {len(keyring.key_ids)} key(s), active {keyring.active_key_id})"
    )


async def _check_database(config: Config, report: DoctorReport) -> None:
    try:
        found = await migrate.current_async(config)
        newest = migrate.head()
    except MCPBoxError as exc:
        report.add("database", False, str(exc))
        return
    if found == newest:
        report.add("database", True, f"schema at {found} (current)")
    elif found is None:
        report.add(
            "database", False, "empty; `mcpbox serve` or `mcpbox db upgrade` creates the schema", warning=True
        )
    else:
        report.add(
            "database",
            False,
            f"schema at {found}, this mcpbox expects {newest}; run `mcpbox db upgrade`",
            warning=True,
        )


async def _check_isolation(config: Config, report: DoctorReport) -> None:
    try:
        isolation = await probe_isolation()
    except MCPBoxError as exc:
        report.add("sandbox", False, f"could not start a sandbox worker: {exc}")
        return
    for layer in isolation.layers:
        required_and_missing = layer.required and not layer.active
        report.add(
            f"sandbox {layer.name}",
            layer.active or not layer.required,
            layer.detail,
            warning=required_and_missing and not config.sandbox_require_isolation,
        )
    if not isolation.complete and not config.sandbox_require_isolation:
        report.add(
            "sandbox",
            False,
            "running with fewer isolation layers; see docs/security.md and "
            "deploy/apparmor for enabling them, or set sandbox_require_isolation=true to refuse",
            warning=True,
        )


async def run_checks(config: Config) -> DoctorReport:
    report = DoctorReport()
    _check_config(config, report)
    if _check_data_dir(config, report):
        _check_key_file(config, report)
        db_path = config.sqlite_path
        if db_path is None or db_path.exists():
            await _check_database(config, report)
        else:
            report.add(
                "database", False, f"{db_path} does not exist yet; `mcpbox serve` creates it", warning=True
            )
    await _check_isolation(config, report)
    return report
