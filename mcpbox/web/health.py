"""Liveness, readiness and metrics endpoints.

``/health`` says the process answers. ``/health/ready`` says whether it can do its job: the
database answers and (with the sandbox) the pool has workers and the isolation layers it needs.
``/metrics`` is Prometheus text; it needs the configured bearer token, or without one it answers
loopback clients only, because tool names and counts describe the owner's setup.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from mcpbox.errors import MCPBoxError
from mcpbox.state import get_state

logger = logging.getLogger(__name__)


async def ready(request: Request) -> Response:
    state = get_state(request)
    checks: dict[str, object] = {}
    healthy = True
    started = time.perf_counter()
    try:
        await state.database.ping()
        checks["database"] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}
    except MCPBoxError:
        logger.exception("readiness: database ping failed")
        checks["database"] = {"ok": False}
        healthy = False
    for name, check in state.readiness_checks().items():
        checks[name] = check
        healthy = healthy and bool(check.get("ok"))
    return JSONResponse(
        {"status": "ready" if healthy else "not_ready", "checks": checks}, status_code=200 if healthy else 503
    )


def _is_loopback(request: Request) -> bool:
    if request.client is None:
        return False
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


async def metrics(request: Request) -> Response:
    state = get_state(request)
    token = state.config.metrics_token
    if token is not None:
        supplied = request.headers.get("authorization", "")
        expected = "Bearer " + token.reveal()
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            return PlainTextResponse(
                "metrics token required\n", status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
    elif not _is_loopback(request):
        return PlainTextResponse(
            "metrics are served to loopback clients only; set metrics_token\n", status_code=403
        )
    return PlainTextResponse(
        state.metrics.registry.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
