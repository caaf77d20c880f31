"""Reading request bodies for the admin edge: urlencoded forms and JSON, both size-capped.

The UI posts plain ``application/x-www-form-urlencoded`` forms (no file uploads anywhere), so
the standard library parses them and no multipart parser is needed. Bodies larger than
``BODY_MAX_BYTES`` are refused before parsing; the largest legitimate field is a 64 KiB secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from mcpbox.errors import InvalidInput

BODY_MAX_BYTES = 256 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > BODY_MAX_BYTES:
        raise InvalidInput(f"request body larger than {BODY_MAX_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > BODY_MAX_BYTES:
            raise InvalidInput(f"request body larger than {BODY_MAX_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(request: Request) -> Mapping[str, str]:
    """The fields of a urlencoded form (first value wins); empty for other content types."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        return {}
    body = await read_body(request)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=100)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput("the form could not be read") from exc
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


async def read_json_object(request: Request) -> dict[str, Any]:
    body = await read_body(request)
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput("the request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise InvalidInput("the request body must be a JSON object")
    return data
