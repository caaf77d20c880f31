"""Validation of management-tool arguments against their declared JSON schemas.

The management tools declare small, flat schemas (strings with patterns and lengths, bounded
integers, booleans, enums, and arrays of such scalars with ``items`` and ``maxItems``). This
checks exactly that subset at the edge and reports every problem in words an LLM can act on; a
schema feature it does not know is a programming error, caught by a test that validates every
registered schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import regex

from mcpbox.errors import InvalidInput

SUPPORTED_KEYWORDS = frozenset(
    {
        "type",
        "description",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "enum",
        "default",
        "items",
        "maxItems",
    }
)
_SCALAR_TYPES = frozenset({"string", "integer", "number", "boolean"})
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def check_schema(schema: Mapping[str, Any]) -> None:
    """Raise ValueError if a declared schema uses more than this validator understands."""
    if schema.get("type") != "object" or schema.get("additionalProperties") is not False:
        raise ValueError("management schemas are closed objects (additionalProperties: false)")
    for name, prop in schema.get("properties", {}).items():
        _check_property(name, prop)
    for name in schema.get("required", []):
        if name not in schema.get("properties", {}):
            raise ValueError(f"required property {name!r} is not declared")


def _check_property(name: str, prop: Mapping[str, Any]) -> None:
    unknown = set(prop) - SUPPORTED_KEYWORDS
    if unknown:
        raise ValueError(f"property {name!r} uses unsupported keywords {sorted(unknown)}")
    kind = prop.get("type")
    if kind not in _JSON_TYPES:
        raise ValueError(f"property {name!r} has unsupported type {kind!r}")
    if ("items" in prop or "maxItems" in prop) and kind != "array":
        raise ValueError(f"property {name!r}: items and maxItems belong to arrays")
    if "items" in prop:
        # Arrays of scalars only: nested objects would need the full JSON Schema semantics.
        items = prop["items"]
        if items.get("type") not in _SCALAR_TYPES:
            raise ValueError(f"property {name!r}: array items must be string, integer, number or boolean")
        _check_property(f"{name}[]", items)


def _problems_for(name: str, value: object, prop: Mapping[str, Any]) -> list[str]:
    kind = prop["type"]
    allowed = _JSON_TYPES[kind]
    if not isinstance(value, allowed) or (kind in ("integer", "number") and isinstance(value, bool)):
        return [f"'{name}' must be {'an' if kind[0] in 'aeiou' else 'a'} {kind}"]
    problems: list[str] = []
    if "enum" in prop and value not in prop["enum"]:
        problems.append(f"'{name}' must be one of: {', '.join(map(str, prop['enum']))}")
    if isinstance(value, str):
        if "minLength" in prop and len(value) < prop["minLength"]:
            problems.append(f"'{name}' must be at least {prop['minLength']} characters")
        if "maxLength" in prop and len(value) > prop["maxLength"]:
            problems.append(f"'{name}' must be at most {prop['maxLength']} characters")
        if "pattern" in prop and not regex.fullmatch(prop["pattern"], value):
            problems.append(f"'{name}' must match the pattern {prop['pattern']}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in prop and value < prop["minimum"]:
            problems.append(f"'{name}' must be at least {prop['minimum']}")
        if "maximum" in prop and value > prop["maximum"]:
            problems.append(f"'{name}' must be at most {prop['maximum']}")
    if isinstance(value, list):
        if "maxItems" in prop and len(value) > prop["maxItems"]:
            problems.append(f"'{name}' may hold at most {prop['maxItems']} items")
        if "items" in prop:
            for index, item in enumerate(value):
                problems.extend(_problems_for(f"{name}[{index}]", item, prop["items"]))
    return problems


def validate_arguments(schema: Mapping[str, Any], arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Return the arguments with defaults filled in, or raise InvalidInput listing every problem."""
    properties: Mapping[str, Mapping[str, Any]] = schema.get("properties", {})
    problems: list[str] = []
    for name in schema.get("required", []):
        if name not in arguments:
            problems.append(f"'{name}' is required")
    for name, value in arguments.items():
        prop = properties.get(name)
        if prop is None:
            known = ", ".join(properties) or "none"
            problems.append(f"unknown argument '{name}' (accepted: {known})")
            continue
        problems.extend(_problems_for(name, value, prop))
    if problems:
        raise InvalidInput("invalid arguments: " + "; ".join(problems))
    filled = {name: prop["default"] for name, prop in properties.items() if "default" in prop}
    filled.update(arguments)
    return filled
