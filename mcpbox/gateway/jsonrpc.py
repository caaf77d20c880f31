"""JSON-RPC 2.0 framing: error codes, the one error exception, message shapes, serialisation.

The gateway parses a body with ``json.loads`` once and then works on plain dicts: building
models for every message would cost more than the whole request on the hot path. The shape
checks here are the single place that decides "request, notification, response or garbage".
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, Final

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603
# Implementation-defined range (-32000..-32019), used by gateway/errors.py.
SERVER_BUSY: Final = -32000
PERMISSION_DENIED: Final = -32001
CONFLICT: Final = -32003
# Reserved by the 2026-07-28 spec.
HEADER_MISMATCH: Final = -32020
MISSING_CLIENT_CAPABILITY: Final = -32021
UNSUPPORTED_PROTOCOL_VERSION: Final = -32022

RequestId = str | int


class RpcError(Exception):
    """A JSON-RPC error to send back, with the HTTP status its answer should carry.

    ``message`` and ``data`` go to the client verbatim, so they are built only from protocol
    facts and ``public_message`` texts, never from an arbitrary exception.
    """

    def __init__(self, code: int, message: str, *, data: Any = None, http_status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.http_status = http_status

    def to_error(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class Kind(Enum):
    REQUEST = "request"
    NOTIFICATION = "notification"
    RESPONSE = "response"


def classify(message: object) -> Kind:
    """Sort one decoded message into its JSON-RPC kind, or raise ``-32600``.

    A present ``id`` makes a request even when it is ``0`` (clients send ``"id": 0`` for
    ``initialize``); only an absent ``id`` makes a notification. ``null`` ids, booleans and
    floats are refused: the spec allows strings and integers only.
    """
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        raise RpcError(INVALID_REQUEST, "Invalid Request", http_status=400)
    if "method" in message:
        if not isinstance(message["method"], str):
            raise RpcError(INVALID_REQUEST, "Invalid Request: method must be a string", http_status=400)
        params = message.get("params")
        if params is not None and not isinstance(params, dict):
            raise RpcError(INVALID_REQUEST, "Invalid Request: params must be an object", http_status=400)
        if "id" not in message:
            return Kind.NOTIFICATION
        if not is_valid_id(message["id"]):
            raise RpcError(
                INVALID_REQUEST, "Invalid Request: id must be a string or an integer", http_status=400
            )
        return Kind.REQUEST
    if ("result" in message or "error" in message) and "id" in message:
        return Kind.RESPONSE
    raise RpcError(INVALID_REQUEST, "Invalid Request", http_status=400)


def is_valid_id(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def request_id_of(message: object) -> RequestId | None:
    """The id to echo in an error for ``message``, or None when it has no usable one."""
    if isinstance(message, dict):
        value = message.get("id")
        if is_valid_id(value):
            return value
    return None


def dumps(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def result_message(request_id: RequestId, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error_message(request_id: RequestId | None, error: RpcError) -> dict[str, Any]:
    """An error response; ``id`` stays ``null`` on the wire when the request id is unknown."""
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_error()}


def notification_message(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    return message
