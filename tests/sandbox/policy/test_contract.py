"""Tool contract: structure rules, schema derivation from main's signature, argument checks."""

from __future__ import annotations

import ast
from typing import Any

import pytest

from mcpbox.sandbox.worker.contract import derive_contract, parse_docstring, validate_arguments


def _schema(signature: str, docstring: str = "") -> dict[str, Any]:
    body = f'    """{docstring}"""\n' if docstring else ""
    contract = derive_contract(ast.parse(f"def main({signature}):\n{body}    return 1\n"))
    assert contract.violations == [], contract.violations
    assert contract.input_schema is not None
    return contract.input_schema


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        ("str", {"type": "string"}),
        ("int", {"type": "integer"}),
        ("float", {"type": "number"}),
        ("bool", {"type": "boolean"}),
        ("list", {"type": "array"}),
        ("dict", {"type": "object"}),
        ("list[int]", {"type": "array", "items": {"type": "integer"}}),
        ("typing.List[str]", {"type": "array", "items": {"type": "string"}}),
        ("dict[str, float]", {"type": "object", "additionalProperties": {"type": "number"}}),
        ("str | None", {"type": ["string", "null"]}),
        ("Optional[int]", {"type": ["integer", "null"]}),
        ("None | list[str]", {"anyOf": [{"type": "null"}, {"type": "array", "items": {"type": "string"}}]}),
        ("Union[int, str]", {"type": ["integer", "string"]}),
        ('Literal["c", "f"]', {"enum": ["c", "f"]}),
        ("Literal[1, 2]", {"enum": [1, 2]}),
        (
            "list[dict[str, int]]",
            {"type": "array", "items": {"type": "object", "additionalProperties": {"type": "integer"}}},
        ),
        ('"list[int]"', {"type": "array", "items": {"type": "integer"}}),
    ],
)
def test_supported_annotations(annotation: str, expected: dict[str, Any]) -> None:
    schema = _schema(f"x: {annotation}")
    assert schema == {
        "type": "object",
        "properties": {"x": expected},
        "required": ["x"],
        "additionalProperties": False,
    }


def test_defaults_are_optional_and_recorded() -> None:
    schema = _schema(
        'city: str, days: int = 3, *, unit: Literal["c", "f"] = "c", tags: list[str] | None = None'
    )
    assert schema["required"] == ["city"]
    assert schema["properties"]["days"] == {"type": "integer", "default": 3}
    assert schema["properties"]["unit"] == {"enum": ["c", "f"], "default": "c"}
    assert schema["properties"]["tags"]["default"] is None


def test_no_parameters_gives_empty_object_schema() -> None:
    assert _schema("") == {"type": "object", "properties": {}, "additionalProperties": False}


def test_descriptions_come_from_the_docstring() -> None:
    doc = """Daily forecast for a city.

    Uses the example API.

    Args:
        city: City name, e.g. "Lisbon".
        days (int): Number of days,
            between 1 and 7.

    Returns:
        A dict.
    """
    contract = derive_contract(ast.parse(f'async def main(city: str, days: int = 3):\n    """{doc}"""\n'))
    assert contract.description == "Daily forecast for a city."
    assert contract.input_schema is not None
    props = contract.input_schema["properties"]
    assert props["city"]["description"] == 'City name, e.g. "Lisbon".'
    assert props["days"]["description"] == "Number of days, between 1 and 7."


def test_parse_docstring_without_args_section() -> None:
    assert parse_docstring("Just a summary\nover two lines.\n\nMore.") == (
        "Just a summary over two lines.",
        {},
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def helper():\n    return 1\n", "must define a top-level function `main`"),
        ("def main():\n    return 1\ndef main():\n    return 2\n", "defined more than once"),
        ("def main():\n    return 1\nprint('x')\n", "top-level Expr statement is not allowed"),
        ("def main():\n    return 1\nfor i in []:\n    pass\n", "top-level For statement"),
        ("def main():\n    return 1\nif True:\n    X = 1\n", "top-level If statement"),
        ("def main(*args):\n    return 1\n", "*args or **kwargs"),
        ("def main(**kw):\n    return 1\n", "*args or **kwargs"),
        ("def main(x, /):\n    return 1\n", "positional-only"),
        ("def main(x):\n    return 1\n", "needs a type annotation"),
        ("def main(x: set[int]):\n    return 1\n", "unsupported annotation `set[int]`"),
        ("def main(x: dict[int, str]):\n    return 1\n", "dict keys must be str"),
        ("def main(x: Literal[1.5]):\n    return 1\n", "Literal[...] values"),
        ("def main(x: int = len('a')):\n    return 1\n", "default of 'x' must be a JSON literal"),
        ("def main(x: set = {1}):\n    return 1\n", "unsupported annotation `set`"),
        ("def main(x: list = {1}):\n    return 1\n", "default of 'x' must be a JSON literal"),
        ("def main(x: int = 'a'):\n    return 1\n", "default of 'x' does not match its annotation"),
        ("def main(x: str = None):\n    return 1\n", "use `X | None = None`"),
        ("main = 1\n", "must define a top-level function `main`"),
    ],
)
def test_contract_violations(source: str, expected: str) -> None:
    contract = derive_contract(ast.parse(source))
    messages = [v.message for v in contract.violations]
    assert any(expected in message for message in messages), messages
    assert all(v.line >= 1 for v in contract.violations)


def test_top_level_may_hold_imports_definitions_and_constants() -> None:
    source = (
        '"""Doc."""\nimport json\nX = 1\nA, B = 2, 3\nY: int = 4\nP = json.dumps([])\n'
        "class C:\n    pass\nasync def main():\n    return X\n"
    )
    assert derive_contract(ast.parse(source)).violations == []


WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "days": {"type": "integer", "default": 3},
        "ratio": {"type": "number"},
        "flag": {"type": "boolean"},
        "unit": {"enum": ["c", "f"]},
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
        "extra": {"type": "object", "additionalProperties": {"type": "integer"}},
        "either": {"anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "null"}]},
    },
    "required": ["city"],
    "additionalProperties": False,
}


def test_valid_arguments_pass() -> None:
    arguments = {"city": "Lisbon", "days": 2, "ratio": 1, "flag": False, "unit": "f", "tags": None}
    assert validate_arguments(WEATHER, arguments) == []
    assert (
        validate_arguments(WEATHER, {"city": "x", "extra": {"a": 1}, "either": [1, 2], "tags": ["a"]}) == []
    )


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, "missing required argument 'city'"),
        ({"city": "x", "bogus": 1}, 'unknown argument "bogus"; this tool accepts: city, days'),
        ({"city": 3}, "argument 'city': expected a string, got an integer (3)"),
        ({"city": "x", "days": True}, "argument 'days': expected an integer, got a boolean (true)"),
        ({"city": "x", "days": 2.5}, "argument 'days': expected an integer, got a number (2.5)"),
        ({"city": "x", "ratio": "1"}, "argument 'ratio': expected a number"),
        ({"city": "x", "flag": 1}, "argument 'flag': expected a boolean (true/false), got an integer (1)"),
        ({"city": "x", "unit": "k"}, 'argument \'unit\': must be one of "c", "f", got "k"'),
        ({"city": "x", "tags": ["a", 2]}, "argument 'tags'[1]: expected a string, got an integer (2)"),
        ({"city": "x", "extra": {"a": "b"}}, "argument 'extra'['a']: expected an integer"),
        (
            {"city": "x", "either": "no"},
            "argument 'either': a string (\"no\") matches none of the allowed forms",
        ),
    ],
)
def test_invalid_arguments_are_explained(arguments: dict[str, Any], expected: str) -> None:
    errors = validate_arguments(WEATHER, arguments)
    assert any(expected in error for error in errors), errors


def test_arguments_must_be_an_object() -> None:
    assert validate_arguments(WEATHER, [1]) == ["arguments must be a JSON object, got an array ([1])"]


def test_enum_does_not_confuse_true_with_one() -> None:
    schema = {"type": "object", "properties": {"n": {"enum": [1, 2]}}, "additionalProperties": False}
    assert validate_arguments(schema, {"n": True}) != []
    assert validate_arguments(schema, {"n": 1}) == []


def test_huge_unknown_argument_names_are_shortened() -> None:
    (error,) = validate_arguments(WEATHER, {"city": "x", "k" * 10_000: 1})
    assert len(error) < 200
