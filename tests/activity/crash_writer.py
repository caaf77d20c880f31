"""Child process of the crash-safety test: writes activity (and settings) until it is killed.

Run as ``python -m tests.activity.crash_writer DATA_DIR``; prints ``writing`` once the first
batch is committed, so the parent knows the kill will land among live transactions.
"""

from __future__ import annotations

import asyncio
import sys

from mcpbox.activity.events import ActivityEvent
from mcpbox.activity.recorder import ActivityRecorder
from mcpbox.config import Config
from mcpbox.db import migrate, setting_store
from mcpbox.db.engine import open_database


async def main(data_dir: str) -> None:
    config = Config.load(environ={"MCPBOX_DATA_DIR": data_dir})
    await migrate.upgrade_async(config)
    database = await open_database(config)
    recorder = ActivityRecorder(database, flush_seconds=0.005, batch_size=250, queue_max=1_000_000)
    writer = asyncio.create_task(recorder.run())
    announced = False
    n = 0
    while not writer.done():
        for _ in range(200):
            recorder.record(
                ActivityEvent("mcp.request", method="tools/call", detail={"n": n, "pad": "x" * 200})
            )
            n += 1
        await setting_store.set_setting(database, f"counter{n % 7}", n)
        await asyncio.sleep(0)
        if not announced and recorder.written:
            print("writing", flush=True)
            announced = True


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
