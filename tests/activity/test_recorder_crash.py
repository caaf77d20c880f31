"""Crash safety: SIGKILL during continuous writes never corrupts the database."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mcpbox.config import Config
from mcpbox.db import activity_store, migrate
from mcpbox.db.engine import open_database

REPO_ROOT = Path(__file__).resolve().parents[2]


def _row_count(db_path: Path) -> int:
    with sqlite3.connect(db_path) as conn:
        return int(conn.execute("SELECT count(*) FROM activity").fetchone()[0])


def _run_and_kill(data_dir: Path, db_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.activity.crash_writer", str(data_dir)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == "writing", child.stderr.read() if child.stderr else ""
        before = _row_count(db_path)
        deadline = time.monotonic() + 30
        while _row_count(db_path) < before + 2000 and time.monotonic() < deadline:
            time.sleep(0.02)  # let it write for a while so the kill lands mid-transaction
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.slow
@pytest.mark.anyio
async def test_sigkill_mid_write_leaves_a_sound_database(tmp_path: Path) -> None:
    config = Config.load(environ={"MCPBOX_DATA_DIR": str(tmp_path)})
    assert config.sqlite_path is not None
    counts = []
    for _ in range(3):  # the second and third runs also recover the previous crash's WAL
        _run_and_kill(tmp_path, config.sqlite_path)
        with sqlite3.connect(config.sqlite_path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        counts.append(_row_count(config.sqlite_path))
    assert counts == sorted(counts)  # committed batches survive every crash
    assert counts[0] > 0

    await migrate.upgrade_async(config)
    assert await migrate.current_async(config) == migrate.head()
    database = await open_database(config)
    try:
        _, total = await activity_store.list_activity(database, limit=1)
        assert total == counts[-1]
    finally:
        await database.close()
