"""The stateless era (2026-07-28): recognising a modern request and checking its envelope.

A modern request names its protocol version in ``params._meta`` and repeats the routing facts
in headers so proxies can route without parsing JSON. The checks run in the same order as the
official SDK's ladder, so a client that contradicts itself hears "header mismatch" before it
hears "unsupported version": first the required ``_meta`` keys (-32602), then the three
routing headers (-32020), then the version itself (-32022). Every rejection is HTTP 400.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from mcpbox.gateway.asgi import RequestHeaders
from mcpbox.gateway.jsonrpc import (
    HEADER_MISMATCH,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    MISSING_CLIENT_CAPABILITY,
    PARSE_ERROR,
    UNSUPPORTED_PROTOCOL_VERSION,
    RpcError,
)
from mcpbox.gateway.versions import MODERN_VERSIONS, is_modern

PROTOCOL_VERSION_KEY: Final = "io.modelcontextprotocol/protocolVersion"
CLIENT_CAPABILITIES_KEY: Final = "io.modelcontextprotocol/clientCapabilities"
CLIENT_INFO_KEY: Final = "io.modelcontextprotocol/clientInfo"
SERVER_INFO_KEY: Final = "io.modelcontextprotocol/serverInfo"

NAME_PARAM: Final[Mapping[str, str]] = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
"""Methods whose target is mirrored into ``Mcp-Name``, and the params key it mirrors."""

HTTP_STATUS: Final[Mapping[int, int]] = {
    PARSE_ERROR: 400,
    INVALID_REQUEST: 400,
    INVALID_PARAMS: 400,
    HEADER_MISMATCH: 400,
    MISSING_CLIENT_CAPABILITY: 400,
    UNSUPPORTED_PROTOCOL_VERSION: 400,
    METHOD_NOT_FOUND: 404,
}
"""The modern transport's status for an error code (unlisted codes are 200, like the SDK)."""

_BASE64_WORD = re.compile(r"^=\?base64\?(?P<payload>.*)\?=$")


@dataclass(frozen=True, slots=True)
class Envelope:
    version: str
    client_name: str | None


def is_modern_body(message: object) -> bool:
    """Whether ``message`` carries a modern envelope (then it is served without a session)."""
    if not isinstance(message, dict):
        return False
    params = message.get("params")
    if not isinstance(params, dict):
        return False
    meta = params.get("_meta")
    return isinstance(meta, dict) and PROTOCOL_VERSION_KEY in meta


def decode_header_value(value: str | None) -> str | None:
    """Undo the ``=?base64?...?=`` wrapping clients use for non-ASCII values; None if malformed."""
    if value is None:
        return None
    match = _BASE64_WORD.fullmatch(value)
    if match is None:
        return value
    try:
        return base64.b64decode(match["payload"], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def unsupported_version(requested: object) -> RpcError:
    return RpcError(
        UNSUPPORTED_PROTOCOL_VERSION,
        "Unsupported protocol version",
        data={"supported": list(MODERN_VERSIONS), "requested": requested},
        http_status=400,
    )


def check_envelope(message: dict[str, Any], headers: RequestHeaders) -> Envelope:
    """Validate a modern request's ``_meta`` and routing headers; raise the first failure."""
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    if not isinstance(meta, dict):
        raise RpcError(
            INVALID_PARAMS,
            f"params._meta must be an object carrying the required {PROTOCOL_VERSION_KEY!r} "
            f"and {CLIENT_CAPABILITIES_KEY!r} envelope keys",
            http_status=400,
        )
    missing = [key for key in (PROTOCOL_VERSION_KEY, CLIENT_CAPABILITIES_KEY) if key not in meta]
    if missing:
        raise RpcError(
            INVALID_PARAMS,
            f"params._meta is missing the required envelope key(s): {', '.join(missing)}",
            http_status=400,
        )
    version = meta[PROTOCOL_VERSION_KEY]
    if headers.duplicated:
        raise RpcError(
            HEADER_MISMATCH, f"{headers.duplicated[0]} header appears more than once", http_status=400
        )
    if headers.protocol_version is None or headers.protocol_version != version:
        raise RpcError(
            HEADER_MISMATCH,
            "MCP-Protocol-Version header does not match the request's protocol version",
            http_status=400,
        )
    method = message.get("method")
    if headers.mcp_method != method:
        raise RpcError(
            HEADER_MISMATCH, "Mcp-Method header does not match the request's method", http_status=400
        )
    name_key = NAME_PARAM.get(method) if isinstance(method, str) else None
    if name_key is not None and isinstance(params, dict):
        target = params.get(name_key)
        if target is not None and decode_header_value(headers.mcp_name) != target:
            raise RpcError(
                HEADER_MISMATCH, f"Mcp-Name header does not match the request's {name_key!r}", http_status=400
            )
    if not isinstance(version, str):
        raise RpcError(
            INVALID_PARAMS, "the protocol version in params._meta must be a string", http_status=400
        )
    if not is_modern(version):
        raise unsupported_version(version)
    info = meta.get(CLIENT_INFO_KEY)
    name = info.get("name") if isinstance(info, dict) else None
    return Envelope(version=version, client_name=name if isinstance(name, str) else None)


def missing_envelope() -> RpcError:
    """What a request with a non-handshake version header but no modern ``_meta`` hears."""
    return RpcError(
        INVALID_PARAMS,
        f"params._meta must be an object carrying the required {PROTOCOL_VERSION_KEY!r} "
        f"and {CLIENT_CAPABILITIES_KEY!r} envelope keys",
        http_status=400,
    )
