"""The ``http`` client tools use: requests through the transport, errors, the request limit."""

from __future__ import annotations

import json

from mcpbox.sandbox.worker.messages import HttpResponse
from mcpbox.sandbox.worker.runtime import (
    CallLimits,
)
from tests.sandbox.policy.conftest import FakeTransport, run_source


def test_http_client_sends_through_the_transport(transport: FakeTransport) -> None:
    source = """
async def main(city: str) -> dict:
    r = await http.get("https://api.example.org/f?x=1", params={"q": city}, headers={"X-Key": secrets["KEY"]})
    r.raise_for_status()
    p = await http.post("https://api.example.org/p", json={"a": 1})
    f = await http.request("put", "https://api.example.org/p", data={"k": "v"}, timeout=5)
    return {"status": r.status_code, "type": r.headers["content-type"], "json": r.json(),
            "text": p.text, "bytes": len(f.content), "ok": f.is_success}
"""
    outcome = run_source(source, {"city": "Lisbon"}, secrets={"KEY": "k1"}, transport=transport)
    assert outcome.ok, outcome.error
    assert outcome.result_json is not None
    assert json.loads(outcome.result_json) == {
        "status": 200, "type": "application/json", "json": {"ok": True},
        "text": '{"ok": true}', "bytes": 12, "ok": True,
    }  # fmt: skip
    get, post, put = transport.requests
    assert (get.method, get.url) == ("GET", "https://api.example.org/f?x=1&q=Lisbon")
    assert get.headers == [("X-Key", "k1")]
    assert (post.method, post.body) == ("POST", b'{"a": 1}')
    assert ("Content-Type", "application/json") in post.headers
    assert (put.method, put.body, put.timeout) == ("PUT", b"k=v", 5.0)
    assert ("Content-Type", "application/x-www-form-urlencoded") in put.headers


def test_http_status_error_and_refusal() -> None:
    failing = FakeTransport(HttpResponse(status_code=404, body=b"nope"))
    source = "async def main():\n    r = await http.get('https://x.org/')\n    r.raise_for_status()\n"
    assert (
        run_source(source, transport=failing).error == "HTTPStatusError: HTTP 404 for https://x.org/ (line 3)"
    )
    refused = FakeTransport(HttpResponse(error="refused: host not approved"))
    source = (
        "async def main():\n    try:\n        await http.get('https://x.org/')\n"
        "    except http.RequestError as e:\n        return str(e)\n"
    )
    outcome = run_source(source, transport=refused)
    assert outcome.result_json == '"GET https://x.org/ failed: refused: host not approved"'


def test_http_request_limit(transport: FakeTransport) -> None:
    source = "async def main():\n    for i in range(5):\n        await http.get('https://x.org/')\n"
    outcome = run_source(source, transport=transport, limits=CallLimits(http_requests=3))
    assert outcome.error_kind == "limit"
    assert outcome.error == "LimitExceeded: this call may make at most 3 HTTP requests (line 3)"
    assert len(transport.requests) == 3


def test_http_limit_survives_a_caught_exception(transport: FakeTransport) -> None:
    source = """
async def main():
    sent = 0
    for i in range(5):
        try:
            await http.get("https://x.org/")
            sent += 1
        except Exception:
            pass
    return sent
"""
    outcome = run_source(source, transport=transport, limits=CallLimits(http_requests=2))
    assert outcome.result_json == "2"
    assert len(transport.requests) == 2


def test_header_injection_is_refused(transport: FakeTransport) -> None:
    source = "async def main():\n    await http.get('https://x.org/', headers={'X': 'a\\r\\nHost: evil'})\n"
    outcome = run_source(source, transport=transport)
    assert outcome.error == "ValueError: header names and values may not contain line breaks or NUL (line 2)"
    assert transport.requests == []
