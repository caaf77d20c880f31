"""Fixtures for the policy tests: an in-process fake egress transport and a one-call runner."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from mcpbox.sandbox.worker.messages import HttpRequest, HttpResponse
from mcpbox.sandbox.worker.runtime import DEFAULT_MODULES, CallLimits, CallOutcome, prepare, run_call


class FakeTransport:
    """Records requests and answers each with a canned response (or a refusal)."""

    def __init__(self, response: HttpResponse | None = None) -> None:
        self.requests: list[HttpRequest] = []
        self.response = response or HttpResponse(
            status_code=200, headers=[("Content-Type", "application/json")], body=b'{"ok": true}'
        )

    async def send(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        return HttpResponse(
            status_code=self.response.status_code,
            headers=self.response.headers,
            body=self.response.body,
            url=request.url,
            error=self.response.error,
        )


def run_source(
    source: str,
    arguments: dict[str, Any] | None = None,
    *,
    secrets: Mapping[str, str] | None = None,
    transport: FakeTransport | None = None,
    limits: CallLimits | None = None,
    policy: bool = True,
    allowed_modules: frozenset[str] = DEFAULT_MODULES,
) -> CallOutcome:
    """Prepare ``source`` and run one call of it on a fresh event loop."""
    prepared = prepare(source, policy=policy, allowed_modules=allowed_modules)
    return asyncio.run(
        run_call(
            prepared,
            arguments or {},
            secrets=secrets or {},
            http=transport or FakeTransport(),
            limits=limits or CallLimits(),
        )
    )


@pytest.fixture
def transport() -> FakeTransport:
    return FakeTransport()
