"""Messages that cross the pipe between the supervisor and a worker, as plain dataclasses.

They are encoded as JSON objects inside length-prefixed frames (see ``frames``). Every field is
JSON-safe; bodies travel base64-encoded. Decoding validates types and bounds so a hostile worker
cannot make the supervisor misbehave with a malformed message.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any


class MessageError(ValueError):
    """A message over the pipe was malformed; the sender is treated as hostile and killed."""


def _str(data: dict[str, Any], key: str, *, limit: int = 1 << 16) -> str:
    value = data.get(key)
    if not isinstance(value, str) or len(value) > limit:
        raise MessageError(f"field {key!r} must be a string of at most {limit} characters")
    return value


def _headers(data: dict[str, Any]) -> list[tuple[str, str]]:
    raw = data.get("headers", [])
    if not isinstance(raw, list) or len(raw) > 256:
        raise MessageError("headers must be a list of at most 256 pairs")
    pairs: list[tuple[str, str]] = []
    for item in raw:
        if (
            not isinstance(item, list | tuple)
            or len(item) != 2
            or not all(isinstance(part, str) and len(part) <= 8192 for part in item)
        ):
            raise MessageError("each header must be a [name, value] pair of strings")
        pairs.append((item[0], item[1]))
    return pairs


def _body(data: dict[str, Any], key: str = "body_b64") -> bytes:
    raw = data.get(key, "")
    if not isinstance(raw, str):
        raise MessageError(f"field {key!r} must be base64 text")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MessageError(f"field {key!r} is not valid base64") from exc


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """An HTTP request a tool asks the supervisor's egress broker to perform."""

    method: str
    url: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    timeout: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "headers": [list(pair) for pair in self.headers],
            "body_b64": base64.b64encode(self.body).decode("ascii"),
            "timeout": self.timeout,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HttpRequest:
        timeout = data.get("timeout")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float)):
            raise MessageError("timeout must be a number or null")
        return cls(
            method=_str(data, "method", limit=16),
            url=_str(data, "url", limit=8192),
            headers=_headers(data),
            body=_body(data),
            timeout=float(timeout) if timeout is not None else None,
        )


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """The broker's answer: a response, or ``error`` (a refusal or failure the tool sees)."""

    status_code: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    url: str = ""
    error: str | None = None  # set when no response: "refused: host not approved", "timeout", ...

    def to_dict(self) -> dict[str, Any]:
        return {
            "status_code": self.status_code,
            "headers": [list(pair) for pair in self.headers],
            "body_b64": base64.b64encode(self.body).decode("ascii"),
            "url": self.url,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HttpResponse:
        status = data.get("status_code", 0)
        error = data.get("error")
        if isinstance(status, bool) or not isinstance(status, int) or not 0 <= status <= 999:
            raise MessageError("status_code must be an integer 0..999")
        if error is not None and not isinstance(error, str):
            raise MessageError("error must be a string or null")
        return cls(
            status_code=status,
            headers=_headers(data),
            body=_body(data),
            url=_str(data, "url", limit=8192) if "url" in data else "",
            error=error,
        )
