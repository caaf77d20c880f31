"""The pool runs on both event loops mcpbox may serve on: asyncio's and uvloop's (the CLI's)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.sandbox.test_pool import ECHO, GRANT, running_pool

pytestmark = pytest.mark.anyio


@pytest.fixture(
    params=[
        pytest.param(("asyncio", {}), id="asyncio"),
        pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    backend: tuple[str, dict[str, Any]] = request.param
    return backend


async def test_one_shot_and_warm_calls_work_on_this_loop() -> None:
    async with running_pool() as pool:
        once = await pool.run_once(ECHO, {"x": 1}, secrets={}, grant=GRANT)
        assert once.ok
        assert once.result_json is not None
        assert json.loads(once.result_json) == {"x": 1}
        warm = await pool.run_warm("v1", "s1", ECHO, {"x": 2}, secrets={}, grant=GRANT)
        assert warm.ok
