"""Installs an approved PyPI package into ``<data_dir>/packages``, safely or not at all.

* Pre-built wheels only: ``pip install --only-binary :all: --no-deps`` at one pinned version, so
  no ``setup.py`` or build backend ever runs (an sdist-only package simply fails to install),
  and nothing the owner did not approve is pulled in as a dependency.
* ``--isolated``: user pip configuration and ``PIP_*`` variables cannot re-enable sdists or
  switch the index behind the owner's back; the index is whatever ``index_args`` says.
* A vulnerability check first. The default auditor runs ``pip-audit`` (an optional runtime
  dependency); when it is missing or fails, the install is refused with a message saying so,
  never skipped silently.
* pip writes into a staging directory beside the target; entries move into place only after
  pip succeeded, so a failed install never leaves half a package on the worker's path.

The command runner and the auditor are injectable: tests install a wheel built on the spot
with ``--no-index --find-links`` and never reach the network.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio

from mcpbox.errors import InvalidInput, PermissionDenied

_NAME_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?")
_VERSION_RE = re.compile(r"[0-9][0-9A-Za-z.!+_-]{0,62}")
DEFAULT_TIMEOUT_SECONDS = 300.0
STDERR_TAIL_CHARS = 1500


@dataclass(frozen=True, slots=True)
class PackageSpec:
    name: str
    version: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


def parse_package_spec(name: str, version: str | None) -> PackageSpec:
    """A pinned package; ``InvalidInput`` unless both name and an exact version are plain text."""
    if not version:
        raise InvalidInput(f"package {name!r} needs a pinned version, e.g. version '1.2.3'")
    if not _NAME_RE.fullmatch(name):
        raise InvalidInput(f"invalid package name {name!r}: use the PyPI project name")
    if not _VERSION_RE.fullmatch(version):
        raise InvalidInput(f"invalid version {version!r}: give one exact version such as '2.32.3'")
    return PackageSpec(name, version)


@dataclass(frozen=True, slots=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


Runner = Callable[[Sequence[str]], Awaitable[CommandResult]]


async def run_command(argv: Sequence[str]) -> CommandResult:
    """Run ``argv`` (no shell) for at most 5 minutes; ``FileNotFoundError`` if it is missing."""
    with anyio.fail_after(DEFAULT_TIMEOUT_SECONDS):
        done = await anyio.run_process(list(argv), check=False)
    return CommandResult(
        done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    )


@dataclass(frozen=True, slots=True)
class Vulnerability:
    id: str
    fix_versions: tuple[str, ...]
    description: str


Auditor = Callable[[PackageSpec], Awaitable[list[Vulnerability]]]


class PipAuditor:
    """Asks ``pip-audit`` about one pinned requirement (it queries the PyPI advisory database)."""

    def __init__(self, *, runner: Runner = run_command, executable: str | None = None) -> None:
        self._runner = runner
        self._executable = executable

    def executable(self) -> str | None:
        if self._executable is not None:
            return self._executable
        beside = Path(sys.executable).with_name("pip-audit")
        return str(beside) if beside.is_file() else shutil.which("pip-audit")

    async def __call__(self, spec: PackageSpec) -> list[Vulnerability]:
        program = self.executable()
        unavailable = (
            f"refusing to install {spec.requirement}: its vulnerability check needs pip-audit, which is not "
            "installed; install pip-audit next to mcpbox and approve again"
        )
        if program is None:
            raise PermissionDenied(unavailable)
        with tempfile.TemporaryDirectory(prefix="mcpbox-audit-") as scratch:
            requirements = Path(scratch) / "requirements.txt"
            requirements.write_text(spec.requirement + "\n", encoding="utf-8")
            argv = [program, "--requirement", str(requirements), "--no-deps", "--disable-pip"]
            argv += ["--format", "json", "--progress-spinner", "off"]
            try:
                result = await self._runner(argv)
            except FileNotFoundError as exc:
                raise PermissionDenied(unavailable) from exc
        if result.returncode not in (0, 1):  # 1 means "vulnerabilities found"
            raise PermissionDenied(
                f"refusing to install {spec.requirement}: the vulnerability check failed: "
                f"{result.stderr.strip()[-STDERR_TAIL_CHARS:]}"
            )
        return _parse_audit(result.stdout, spec)


def _parse_audit(text: str, spec: PackageSpec) -> list[Vulnerability]:
    try:
        report = json.loads(text)
        found = [
            Vulnerability(
                str(v["id"]), tuple(str(f) for f in v.get("fix_versions", ())), str(v.get("description", ""))
            )
            for dependency in report.get("dependencies", [])
            for v in dependency.get("vulns", [])
        ]
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise PermissionDenied(
            f"refusing to install {spec.requirement}: the vulnerability check gave an unreadable answer"
        ) from exc
    return found


@dataclass(frozen=True, slots=True)
class InstallReport:
    spec: PackageSpec
    entries: tuple[str, ...]  # top-level names placed in the target directory


class PackageInstaller:
    """Installs pinned wheels into ``target_dir`` after an audit; one install at a time."""

    def __init__(
        self,
        target_dir: Path,
        *,
        auditor: Auditor,
        runner: Runner = run_command,
        python: str = sys.executable,
        index_args: Sequence[str] = (),
    ) -> None:
        self._target = target_dir
        self._auditor = auditor
        self._runner = runner
        self._python = python
        self._index_args = tuple(index_args)
        self._lock = anyio.Lock()

    @property
    def target_dir(self) -> Path:
        return self._target

    def pip_argv(self, spec: PackageSpec, staging: Path) -> list[str]:
        """The exact pip command: wheels only, no dependencies, pinned, isolated from user config."""
        return [
            self._python, "-m", "pip", "install", "--isolated", "--no-input", "--disable-pip-version-check",
            "--only-binary", ":all:", "--no-deps", "--target", str(staging), *self._index_args,
            spec.requirement,
        ]  # fmt: skip

    async def install(
        self, spec: PackageSpec, *, progress: Callable[[str], None] | None = None
    ) -> InstallReport:
        """Audit, then install; ``PermissionDenied`` (known vulnerabilities, no auditor) or
        ``InvalidInput`` (no wheel for this version, pip failed) with pip's own reason."""
        say = progress or (lambda _line: None)
        async with self._lock:
            say(f"checking {spec.requirement} for known vulnerabilities")
            vulnerabilities = await self._auditor(spec)
            if vulnerabilities:
                ids = ", ".join(v.id for v in vulnerabilities)
                raise PermissionDenied(f"refusing to install {spec.requirement}: known vulnerabilities {ids}")
            staging = await anyio.to_thread.run_sync(self._make_staging)
            try:
                say(f"installing {spec.requirement} (wheels only, no dependencies)")
                result = await self._runner(self.pip_argv(spec, staging))
                if result.returncode != 0:
                    raise InvalidInput(
                        f"could not install {spec.requirement} from a pre-built wheel (source "
                        f"distributions are never built): {result.stderr.strip()[-STDERR_TAIL_CHARS:]}"
                    )
                entries = await anyio.to_thread.run_sync(self._move_into_place, staging)
            finally:
                await anyio.to_thread.run_sync(lambda: shutil.rmtree(staging, ignore_errors=True))
            say(f"installed {spec.requirement}: {', '.join(entries)}")
            return InstallReport(spec, entries)

    def _make_staging(self) -> Path:
        self._target.mkdir(parents=True, exist_ok=True, mode=0o755)
        return Path(tempfile.mkdtemp(prefix=f".{self._target.name}-staging-", dir=self._target.parent))

    def _move_into_place(self, staging: Path) -> tuple[str, ...]:
        """Move every top-level entry pip wrote into the target, replacing an older copy."""
        entries = tuple(sorted(path.name for path in staging.iterdir()))
        for entry in entries:
            destination = self._target / entry
            if destination.is_dir() and not destination.is_symlink():
                shutil.rmtree(destination)
            elif destination.exists() or destination.is_symlink():
                destination.unlink()
            (staging / entry).rename(destination)
        return entries
