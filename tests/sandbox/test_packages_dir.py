"""Approved packages in ``<data_dir>/packages``, through real workers.

Each test writes a tiny package straight into a temporary data directory (no pip, no network),
the way the installer leaves it, and starts a pool on that directory. What must hold: a tool whose
allowed modules name the package imports it; nothing else can; nothing can write there; nothing
there shadows the standard library; and a package installed after the pool started is found.

The data directory is 0700, as the server creates it. When the suite runs as root the workers run
as ``nobody``, who may not search it: every import below then also proves that such a worker still
reads the packages (and the write test, that it reaches nothing else of the data directory).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from mcpbox.config import Config
from mcpbox.sandbox.egress import EgressGrant
from mcpbox.sandbox.pool import SandboxPool
from mcpbox.sandbox.worker.messages import HttpRequest, HttpResponse
from mcpbox.sandbox.worker.policy.modules import DEFAULT_MODULES
from mcpbox.sandbox.worker_handle import CallOutcome

pytestmark = pytest.mark.anyio
GRANT = EgressGrant(server="test")

TINYPKG = {
    "tinypkg/__init__.py": "from tinypkg._core import shout\n\nVERSION = '1.0'\n",
    "tinypkg/_core.py": "import json\n\n\ndef shout(text):\n    return json.dumps(text.upper() + '!')\n",
}
USE_TINYPKG = """
import tinypkg

def main(text: str) -> dict:
    return {"shout": tinypkg.shout(text), "version": tinypkg.VERSION}
"""


async def refuse(request: HttpRequest, grant: EgressGrant) -> HttpResponse:
    return HttpResponse(error="refused: no network in this test")


def allowing(*extra: str) -> frozenset[str]:
    return DEFAULT_MODULES | set(extra)


def write_package(packages: Path, files: dict[str, str]) -> None:
    """Write files as pip would leave them: directories 0755, files 0644 (whatever the umask)."""
    for relative, text in files.items():
        path = packages / relative
        for parent in reversed(path.relative_to(packages).parents):
            (packages / parent).mkdir(exist_ok=True)
            (packages / parent).chmod(0o755)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o644)


@contextlib.asynccontextmanager
async def running_pool(data_dir: Path) -> AsyncIterator[SandboxPool]:
    config = Config.load(environ={"MCPBOX_DATA_DIR": str(data_dir)}, overrides={"sandbox_idle_workers": 1})
    pool = SandboxPool(config, refuse)
    await pool.start()
    try:
        yield pool
    finally:
        await pool.close()


async def run(
    pool: SandboxPool, source: str, modules: Iterable[str] | None = None, *, policy: bool = True,
    **arguments: object,
) -> CallOutcome:  # fmt: skip
    allowed = None if modules is None else frozenset(modules)
    return await pool.run_once(
        source, arguments, secrets={}, grant=GRANT, allowed_modules=allowed, policy=policy
    )


def result(outcome: CallOutcome) -> object:
    assert outcome.ok, outcome.error
    assert outcome.result_json is not None
    return json.loads(outcome.result_json)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    tmp_path.chmod(0o700)
    write_package(tmp_path / "packages", TINYPKG)
    return tmp_path


async def test_a_tool_allowed_the_module_imports_and_uses_the_package(data_dir: Path) -> None:
    async with running_pool(data_dir) as pool:
        outcome = await run(pool, USE_TINYPKG, allowing("tinypkg"), text="hi")
        assert result(outcome) == {"shout": '"HI!"', "version": "1.0"}
        if os.geteuid() == 0:  # the worker was nobody, under a data directory only root may search
            assert pool.isolation is not None
            assert "runs as nobody" in pool.isolation.layer("user_namespace").detail


async def test_a_c_extension_in_the_packages_dir_loads_under_landlock(data_dir: Path) -> None:
    """Landlock's execute right is about execve: mmap(PROT_EXEC) of a .so needs read only."""
    import _bisect

    shared_object = getattr(_bisect, "__file__", None)
    if shared_object is None:
        pytest.skip("_bisect is built into this interpreter; no shared object to copy")
    write_package(
        data_dir / "packages", {"tinyext/__init__.py": "from tinyext._bisect import bisect_right\n"}
    )
    shutil.copy(shared_object, data_dir / "packages" / "tinyext" / Path(shared_object).name)
    tool = "import tinyext\n\ndef main() -> int:\n    return tinyext.bisect_right([1, 2, 3], 2)\n"
    async with running_pool(data_dir) as pool:
        assert pool.isolation is not None
        assert pool.isolation.layer("landlock").active, pool.isolation.summary()
        assert result(await run(pool, tool, allowing("tinyext"))) == 2


async def test_without_the_module_allowed_the_policy_refuses_the_import(data_dir: Path) -> None:
    write_package(data_dir / "packages", {"otherpkg.py": "VALUE = 1\n"})
    async with running_pool(data_dir) as pool:
        for modules in (None, allowing("otherpkg")):  # defaults only; another package approved
            outcome = await run(pool, USE_TINYPKG, modules, text="hi")
            assert not outcome.ok
            assert outcome.error_kind == "policy"
            assert outcome.error is not None
            assert "import of 'tinypkg' is not allowed" in outcome.error


async def test_the_packages_dir_is_on_the_path_only_for_tools_with_extra_modules(data_dir: Path) -> None:
    tool = "import sys\n\ndef main() -> list:\n    return [p for p in sys.path if 'proc' in p]\n"
    async with running_pool(data_dir) as pool:
        assert result(await run(pool, tool, policy=False)) == []
        assert result(await run(pool, tool, allowing("tinypkg"), policy=False)) == ["/proc/self/cwd"]


WRITE_ATTEMPTS = """
import os
import resource

def main(real: str) -> dict:
    attempts = {
        "create": lambda base: open(os.path.join(base, "planted.py"), "x").close(),
        "write": lambda base: open(os.path.join(base, "tinypkg", "__init__.py"), "a").write("X = 1\\n"),
        "truncate": lambda base: open(os.path.join(base, "tinypkg", "__init__.py"), "w").close(),
        "mkdir": lambda base: os.mkdir(os.path.join(base, "newdir")),
        "unlink": lambda base: os.unlink(os.path.join(base, "tinypkg", "_core.py")),
        "rename": lambda base: os.rename(os.path.join(base, "tinypkg"), os.path.join(base, "moved")),
        "read_data_dir": lambda base: open(os.path.join(base, "..", "keys.json")).read(),
    }
    outcome = {"file_size_limit": list(resource.getrlimit(resource.RLIMIT_FSIZE))}
    for base in ("/proc/self/cwd", real):
        for name, attempt in attempts.items():
            try:
                attempt(base)
                outcome[base + ":" + name] = "DONE"
            except OSError as exc:
                outcome[base + ":" + name] = type(exc).__name__
    return outcome
"""


async def test_a_worker_cannot_write_into_the_packages_dir(data_dir: Path) -> None:
    """With the policy off, and file modes that would let anyone write, only the OS layer stops it."""
    packages = data_dir / "packages"
    (data_dir / "keys.json").write_text("secret", encoding="utf-8")
    (data_dir / "keys.json").chmod(0o644)  # readable by its mode: Landlock (and for nobody, 0700) stop it
    for path in [packages, *packages.rglob("*")]:
        path.chmod(0o777 if path.is_dir() else 0o666)
    before = {str(path): path.read_bytes() for path in packages.rglob("*") if path.is_file()}
    async with running_pool(data_dir) as pool:
        assert pool.isolation is not None
        assert pool.isolation.layer("landlock").active, pool.isolation.summary()
        outcome = await run(pool, WRITE_ATTEMPTS, allowing("tinypkg"), policy=False, real=str(packages))
    attempts = result(outcome)
    assert isinstance(attempts, dict)
    assert attempts.pop("file_size_limit") == [0, 0]  # the second lock: no byte may be written
    assert len(attempts) == 14
    assert "DONE" not in attempts.values(), attempts
    after = {str(path): path.read_bytes() for path in packages.rglob("*") if path.is_file()}
    assert after == before


async def test_the_packages_dir_cannot_shadow_the_standard_library(data_dir: Path) -> None:
    shadows = {
        name: f"def {function}(*args, **kwargs):\n    return 'SHADOWED'\n"
        for name, function in (("json", "dumps"), ("colorsys", "rgb_to_hsv"), ("winreg", "OpenKey"))
    }
    write_package(data_dir / "packages", {f"{name}.py": text for name, text in shadows.items()})
    tools = {
        # Imported in the zygote: never looked up on the path again.
        "json": "import json\n\ndef main() -> str:\n    return json.dumps([1])\n",
        # Not imported in the zygote: looked up, standard library first - which a worker running
        # as nobody may not be able to list (a Python under /root). Found there or not at all.
        "colorsys": "import colorsys\n\ndef main() -> list:\n    return list(colorsys.rgb_to_hsv(1, 0, 0))\n",
        # A standard-library name this build lacks: nothing earlier on the path has it.
        "winreg": "import winreg\n\ndef main() -> str:\n    return winreg.OpenKey()\n",
    }
    async with running_pool(data_dir) as pool:
        assert result(await run(pool, tools["json"], allowing("tinypkg"))) == "[1]"
        for name in ("colorsys", "winreg"):
            outcome = await run(pool, tools[name], allowing("tinypkg", name))
            assert "SHADOWED" not in str(outcome), outcome
            if outcome.ok:
                assert name == "colorsys"
                assert result(outcome) == [0.0, 1.0, 1.0]
            else:
                missing = f"ModuleNotFoundError: No module named '{name}'"
                assert (outcome.error or "").startswith(missing), outcome
        # The package's own "import json" gets the standard library too.
        shouted = result(await run(pool, USE_TINYPKG, allowing("tinypkg"), text="a"))
        assert shouted == {"shout": '"A!"', "version": "1.0"}


async def test_a_package_installed_after_the_pool_started_is_importable(tmp_path: Path) -> None:
    """No packages directory at start: the supervisor creates it, and Landlock covers what lands in it."""
    tmp_path.chmod(0o700)
    packages = tmp_path / "packages"
    tool = (
        "def main(late: bool) -> str:\n"
        "    if late:\n"
        "        import latepkg\n"
        "        return latepkg.VALUE\n"
        "    import tinypkg\n"
        "    return tinypkg.VERSION\n"
    )
    modules = allowing("tinypkg", "latepkg")
    async with running_pool(tmp_path) as pool:
        assert stat.S_IMODE(packages.stat().st_mode) == 0o755
        write_package(packages, TINYPKG)

        async def warm(late: bool) -> CallOutcome:
            return await pool.run_warm(
                "v1", "srv", tool, {"late": late}, secrets={}, grant=GRANT, allowed_modules=modules
            )

        # A warm worker has looked at the directory (and cached its listing) before latepkg exists.
        assert result(await warm(False)) == "1.0"
        (pid,) = [worker.pid for worker in pool.snapshot() if worker.version_key == "v1"]
        write_package(packages, {"latepkg/__init__.py": "VALUE = 'late'\n"})
        assert result(await warm(True)) == "late"
        assert [worker.pid for worker in pool.snapshot() if worker.version_key == "v1"] == [pid]
        # A worker forked afterwards sees it too.
        assert result(await run(pool, tool, modules, late=True)) == "late"
