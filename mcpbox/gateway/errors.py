"""The one table that turns mcpbox exceptions into JSON-RPC errors at the MCP edge.

Only ``public_message`` texts of deliberate mcpbox errors reach a client. Everything else
(storage, crypto, config failures and any unexpected exception) becomes a bare
``-32603 "Internal error"`` and is logged here with its traceback, so the client learns that
something broke but never where (paths, SQL, reprs stay in the server log).
"""

from __future__ import annotations

import logging
from typing import Final

from mcpbox import errors
from mcpbox.gateway.jsonrpc import (
    CONFLICT,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    PERMISSION_DENIED,
    SERVER_BUSY,
    RpcError,
)

logger = logging.getLogger(__name__)

# Most specific class first: the first isinstance match wins.
ERROR_TABLE: Final[tuple[tuple[type[errors.MCPBoxError], int], ...]] = (
    (errors.NotFound, INVALID_PARAMS),
    (errors.InvalidInput, INVALID_PARAMS),
    (errors.PermissionDenied, PERMISSION_DENIED),
    (errors.Conflict, CONFLICT),
    (errors.Busy, SERVER_BUSY),
)
"""Exceptions whose ``public_message`` a client may read, with their JSON-RPC code."""

INTERNAL: Final = "Internal error"


def to_rpc_error(exc: BaseException) -> RpcError:
    """Translate ``exc`` into the error the client sees; log it when it is internal."""
    if isinstance(exc, RpcError):
        return exc
    if isinstance(exc, errors.MCPBoxError):
        for kind, code in ERROR_TABLE:
            if isinstance(exc, kind):
                return RpcError(code, exc.public_message)
    logger.error("MCP request failed", exc_info=exc)
    return RpcError(INTERNAL_ERROR, INTERNAL)
