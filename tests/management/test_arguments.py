"""The schema subset management tools declare: arrays of scalars with items and maxItems."""

from __future__ import annotations

import pytest

from mcpbox.errors import InvalidInput
from mcpbox.management.arguments import check_schema, validate_arguments

HOSTS = {"type": "array", "items": {"type": "string", "maxLength": 5}, "maxItems": 2}
SCHEMA = {"type": "object", "properties": {"hosts": HOSTS}, "additionalProperties": False}


def test_array_items_are_checked_one_by_one_with_their_index() -> None:
    check_schema(SCHEMA)
    assert validate_arguments(SCHEMA, {"hosts": ["a", "b"]}) == {"hosts": ["a", "b"]}
    with pytest.raises(InvalidInput) as info:
        validate_arguments(SCHEMA, {"hosts": ["a", 7, "toolong"]})
    message = str(info.value)
    assert "'hosts' may hold at most 2 items" in message
    assert "'hosts[1]' must be a string" in message
    assert "'hosts[2]' must be at most 5 characters" in message


@pytest.mark.parametrize(
    "prop",
    [
        {"type": "array", "items": {"type": "object"}},
        {"type": "array", "items": {"type": "string", "format": "uri"}},
        {"type": "string", "maxItems": 3},
    ],
)
def test_schemas_beyond_the_supported_subset_are_refused_at_declaration(prop: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="property 'p"):
        check_schema({"type": "object", "properties": {"p": prop}, "additionalProperties": False})
