"""Package installs: wheels only, pinned, audited first, never setup.py; no network in tests."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from mcpbox.approvals.hooks import Hooks
from mcpbox.db.engine import Database
from mcpbox.db.models import RequestStatus
from mcpbox.errors import InvalidInput, PermissionDenied
from mcpbox.tools import allowlists, requests
from mcpbox.tools.packages import (
    CommandResult,
    PackageInstaller,
    PackageSpec,
    PipAuditor,
    Vulnerability,
    parse_package_spec,
)
from tests.tools.harness import Recorded

pytestmark = pytest.mark.anyio


def build_wheel(directory: Path, name: str = "mcpbox_demo", version: str = "1.0.0") -> Path:
    """A minimal pure-Python wheel, written directly (no build backend, no network)."""
    files = {
        f"{name}/__init__.py": "VALUE = 42\n",
        f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{name}-{version}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record_name = f"{name}-{version}.dist-info/RECORD"
    lines = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        lines.append(f"{path},sha256={digest},{len(text.encode())}")
    lines.append(f"{record_name},,")
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
        archive.writestr(record_name, "\n".join(lines) + "\n")
    return wheel


def build_sdist_with_trap(
    directory: Path, marker: Path, name: str = "mcpbox_trap", version: str = "1.0.0"
) -> Path:
    """An sdist whose setup.py would leave ``marker`` behind if anything ever ran it."""
    setup = (
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('setup.py ran')\n"
        f"from setuptools import setup\nsetup(name={name!r}, version={version!r})\n"
    )
    files = {"setup.py": setup, "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"}
    sdist = directory / f"{name}-{version}.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}-{version}/{path}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return sdist


async def no_vulnerabilities(_spec: PackageSpec) -> list[Vulnerability]:
    return []


def local_installer(tmp_path: Path, index: Path, auditor: object = no_vulnerabilities) -> PackageInstaller:
    return PackageInstaller(
        tmp_path / "packages",
        auditor=auditor,  # type: ignore[arg-type]
        index_args=("--no-index", "--find-links", str(index)),
    )


@pytest.fixture
def index(tmp_path: Path) -> Path:
    directory = tmp_path / "index"
    directory.mkdir()
    build_wheel(directory)
    return directory


async def test_a_wheel_installs_into_the_target_directory(tmp_path: Path, index: Path) -> None:
    installer = local_installer(tmp_path, index)
    lines: list[str] = []
    report = await installer.install(PackageSpec("mcpbox_demo", "1.0.0"), progress=lines.append)
    target = tmp_path / "packages"
    assert (target / "mcpbox_demo" / "__init__.py").read_text() == "VALUE = 42\n"
    assert "mcpbox_demo" in report.entries
    assert [line.split()[0] for line in lines] == ["checking", "installing", "installed"]
    assert not [p for p in tmp_path.iterdir() if "staging" in p.name]


async def test_an_sdist_is_refused_and_its_setup_py_never_runs(tmp_path: Path, index: Path) -> None:
    marker = tmp_path / "setup-py-ran"
    build_sdist_with_trap(index, marker)
    installer = local_installer(tmp_path, index)
    with pytest.raises(InvalidInput, match="pre-built wheel"):
        await installer.install(PackageSpec("mcpbox_trap", "1.0.0"))
    assert not marker.exists()
    assert not (tmp_path / "packages" / "mcpbox_trap").exists()


def test_the_pip_command_is_wheel_only_pinned_and_isolated(tmp_path: Path) -> None:
    argv = PackageInstaller(tmp_path / "p", auditor=no_vulnerabilities).pip_argv(
        PackageSpec("a", "1"), tmp_path
    )
    assert argv[1:4] == ["-m", "pip", "install"]
    for flag in ("--isolated", "--no-deps", "--no-input"):
        assert flag in argv
    assert argv[argv.index("--only-binary") + 1] == ":all:"
    assert argv[-1] == "a==1"


async def test_known_vulnerabilities_refuse_the_install_before_pip_runs(tmp_path: Path, index: Path) -> None:
    async def vulnerable(_spec: PackageSpec) -> list[Vulnerability]:
        return [Vulnerability("PYSEC-2099-1", ("1.0.1",), "bad")]

    with pytest.raises(PermissionDenied, match="PYSEC-2099-1"):
        await local_installer(tmp_path, index, vulnerable).install(PackageSpec("mcpbox_demo", "1.0.0"))
    assert not (tmp_path / "packages" / "mcpbox_demo").exists()


async def test_pip_audit_findings_are_read_from_its_json() -> None:
    seen: list[Sequence[str]] = []

    async def runner(argv: Sequence[str]) -> CommandResult:
        seen.append(argv)
        report = {
            "dependencies": [
                {"name": "a", "version": "1", "vulns": [{"id": "GHSA-x", "fix_versions": ["2"]}]}
            ]
        }
        return CommandResult(1, json.dumps(report), "")

    found = await PipAuditor(runner=runner, executable="pip-audit")(PackageSpec("a", "1"))
    assert found == [Vulnerability("GHSA-x", ("2",), "")]
    assert "--no-deps" in seen[0]
    assert "--disable-pip" in seen[0]


async def test_a_missing_pip_audit_refuses_clearly() -> None:
    async def runner(_argv: Sequence[str]) -> CommandResult:
        raise FileNotFoundError("pip-audit")

    with pytest.raises(PermissionDenied, match="needs pip-audit"):
        await PipAuditor(runner=runner, executable="/nonexistent/pip-audit")(PackageSpec("a", "1"))


async def test_a_failing_pip_audit_refuses() -> None:
    async def runner(_argv: Sequence[str]) -> CommandResult:
        return CommandResult(2, "", "network unreachable")

    with pytest.raises(PermissionDenied, match="network unreachable"):
        await PipAuditor(runner=runner, executable="pip-audit")(PackageSpec("a", "1"))


@pytest.mark.parametrize(("name", "version"), [("a", None), ("a b", "1"), ("a", "1; rm -rf /"), ("-e", "1")])
def test_specs_must_be_plain_and_pinned(name: str, version: str | None) -> None:
    with pytest.raises(InvalidInput):
        parse_package_spec(name, version)


async def test_approving_a_package_module_installs_it_then_allows_it(
    database: Database, recorded: Recorded, tmp_path: Path, index: Path
) -> None:
    request = await requests.request_module(
        database,
        server="home",
        module="mcpbox_demo",
        package="mcpbox_demo",
        version="1.0.0",
        requested_by="token:ci",
        hooks=recorded.hooks,
    )
    installer = local_installer(tmp_path, index)
    approved = await requests.approve_module_request(
        database, request.id, decided_by="admin:owner", hooks=recorded.hooks, installer=installer
    )
    assert approved.status is RequestStatus.APPROVED
    assert (tmp_path / "packages" / "mcpbox_demo").is_dir()
    assert "mcpbox_demo" in await allowlists.module_allowlist_for_server(database, "home")
    names = recorded.names()
    assert names.index("package.installed") < names.index("module.approved")


async def test_a_failed_install_leaves_the_request_pending(
    database: Database, recorded: Recorded, tmp_path: Path, index: Path
) -> None:
    request = await requests.request_module(
        database,
        server="home",
        module="nothere",
        package="nothere",
        version="9.9",
        requested_by="x",
        hooks=recorded.hooks,
    )
    hooks: Hooks = recorded.hooks
    with pytest.raises(InvalidInput):
        await requests.approve_module_request(
            database, request.id, decided_by="admin", hooks=hooks, installer=local_installer(tmp_path, index)
        )
    assert "package.install_refused" in recorded.names()
    assert "nothere" not in await allowlists.module_allowlist_for_server(database, "home")
