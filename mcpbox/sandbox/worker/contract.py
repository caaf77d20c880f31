"""The tool contract: the shape of tool source, the input schema of ``main``, argument checks.

Pure standard library and free of side effects, so both the worker and the parent process (which
validates arguments before the sandbox is touched) import it. Everything is read from the AST:
nothing here executes tool code. Messages are written for the LLM that wrote the tool: they say
what is wrong and how to fix it.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True)
class Violation:
    """One problem in tool source; ``line`` and ``column`` are 1-based (0 when not known)."""

    line: int
    column: int
    message: str


@dataclass(frozen=True)
class ToolContract:
    input_schema: dict[str, Any] | None
    description: str
    violations: list[Violation]


_SCALARS: Final[dict[str, dict[str, Any]]] = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "list": {"type": "array"},
    "List": {"type": "array"},
    "dict": {"type": "object"},
    "Dict": {"type": "object"},
    "None": {"type": "null"},
}
_SUPPORTED: Final = (
    "str, int, float, bool, list, dict, list[X], dict[str, X], X | None, Optional[X], Literal[...]"
)
_TOP_LEVEL_KINDS: Final = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class _Unsupported(Exception):
    pass


def check_structure(tree: ast.Module) -> list[Violation]:
    """Exactly one top-level ``main``; only imports, definitions and constant assignments.

    A "constant assignment" binds names (``X = ...``, ``A, B = ...``, ``X: int = ...``); its value
    may be any expression (``PATTERN = re.compile(...)``), recomputed at the start of every call.
    Loops, ``if``, ``try``, bare calls and ``print`` at the top level are refused.
    """
    violations: list[Violation] = []
    mains = []
    for index, node in enumerate(tree.body):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "main":
            mains.append(node)
        if isinstance(node, _TOP_LEVEL_KINDS) or _is_constant_assignment(node):
            continue
        if index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the module docstring
        violations.append(
            Violation(
                node.lineno,
                node.col_offset + 1,
                f"top-level {type(node).__name__} statement is not allowed: the top level may only "
                "hold imports, function and class definitions and constant assignments; "
                "put other code inside main()",
            )
        )
    if not mains:
        violations.append(
            Violation(1, 1, "the tool must define a top-level function `main` (def or async def)")
        )
    for extra in mains[1:]:
        violations.append(Violation(extra.lineno, extra.col_offset + 1, "`main` is defined more than once"))
    return violations


def _is_constant_assignment(node: ast.stmt) -> bool:
    def is_names(target: ast.expr) -> bool:
        if isinstance(target, ast.Tuple | ast.List):
            return all(is_names(element) for element in target.elts)
        return isinstance(target, ast.Name) and target.id != "main"

    if isinstance(node, ast.Assign):
        return all(is_names(target) for target in node.targets)
    if isinstance(node, ast.AnnAssign):
        return is_names(node.target)
    return False


def find_main(tree: ast.Module) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "main":
            return node
    return None


def derive_contract(tree: ast.Module) -> ToolContract:
    """Structure checks plus the input schema and description derived from ``main``."""
    violations = check_structure(tree)
    main = find_main(tree)
    if main is None:
        return ToolContract(None, "", violations)
    summary, arg_docs = parse_docstring(ast.get_docstring(main) or "")
    schema, schema_violations = _schema_for(main, arg_docs)
    violations.extend(schema_violations)
    return ToolContract(None if schema_violations else schema, summary, violations)


def _schema_for(
    main: ast.FunctionDef | ast.AsyncFunctionDef, arg_docs: dict[str, str]
) -> tuple[dict[str, Any], list[Violation]]:
    violations: list[Violation] = []
    arguments = main.args

    def bad(node: ast.AST, message: str) -> None:
        violations.append(
            Violation(getattr(node, "lineno", main.lineno), getattr(node, "col_offset", 0) + 1, message)
        )

    if arguments.vararg or arguments.kwarg:
        bad(main, "main() must not take *args or **kwargs: declare each argument with a type")
    if arguments.posonlyargs:
        bad(main, "main() must not have positional-only parameters: arguments are passed by name")
    params = [*arguments.args, *arguments.kwonlyargs]
    defaults: dict[str, ast.expr] = dict(
        zip(
            [p.arg for p in arguments.args][len(arguments.args) - len(arguments.defaults) :],
            arguments.defaults,
            strict=True,
        )
    )
    defaults.update(
        {p.arg: d for p, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True) if d is not None}
    )
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in params:
        if param.annotation is None:
            bad(param, f"parameter '{param.arg}' of main() needs a type annotation ({_SUPPORTED})")
            continue
        try:
            prop = annotation_schema(param.annotation)
        except _Unsupported as exc:
            bad(param, f"parameter '{param.arg}' of main(): {exc}")
            continue
        if param.arg in arg_docs:
            prop["description"] = arg_docs[param.arg]
        if param.arg in defaults:
            problem = _default_problem(param.arg, defaults[param.arg], prop)
            if problem:
                bad(defaults[param.arg], problem)
            else:
                prop["default"] = ast.literal_eval(defaults[param.arg])
        else:
            required.append(param.arg)
        properties[param.arg] = prop
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema, violations


def _default_problem(name: str, node: ast.expr, prop: dict[str, Any]) -> str | None:
    try:
        value = ast.literal_eval(node)
        json.dumps(value, allow_nan=False)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return f"default of '{name}' must be a JSON literal (number, string, list, dict, True/False/None)"
    if isinstance(value, tuple) or _check(prop, value, "default"):
        hint = " (use `X | None = None` for an optional argument)" if value is None else ""
        return f"default of '{name}' does not match its annotation{hint}"
    return None


def annotation_schema(node: ast.expr) -> dict[str, Any]:
    """JSON Schema for one annotation node; raises ``_Unsupported`` with a readable reason."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
        try:
            node = ast.parse(text, mode="eval").body
        except SyntaxError:
            raise _Unsupported(f"annotation {text!r} is not valid Python") from None
    if isinstance(node, ast.Constant) and node.value is None:
        return {"type": "null"}
    name = _type_name(node)
    if name in _SCALARS:
        return dict(_SCALARS[name])
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union([*_flatten_union(node.left), *_flatten_union(node.right)])
    if isinstance(node, ast.Subscript):
        outer = _type_name(node.value)
        items = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if outer in ("list", "List") and len(items) == 1:
            return {"type": "array", "items": annotation_schema(items[0])}
        if outer in ("dict", "Dict") and len(items) == 2:
            if _type_name(items[0]) != "str":
                raise _Unsupported("dict keys must be str (JSON object keys are strings)")
            return {"type": "object", "additionalProperties": annotation_schema(items[1])}
        if outer == "Optional" and len(items) == 1:
            return _union([items[0], ast.Constant(None)])
        if outer == "Union":
            return _union(items)
        if outer == "Literal":
            return _literal(items)
    raise _Unsupported(f"unsupported annotation `{ast.unparse(node)}`; supported: {_SUPPORTED}")


def _type_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant) and node.value is None:
        return "None"
    return None


def _flatten_union(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return [*_flatten_union(node.left), *_flatten_union(node.right)]
    return [node]


def _union(members: list[ast.expr]) -> dict[str, Any]:
    schemas = [annotation_schema(member) for member in members]
    if all(set(schema) == {"type"} and isinstance(schema["type"], str) for schema in schemas):
        types_ = list(dict.fromkeys(schema["type"] for schema in schemas))
        return {"type": types_[0] if len(types_) == 1 else types_}
    return {"anyOf": schemas}


def _literal(items: list[ast.expr]) -> dict[str, Any]:
    values = []
    for item in items:
        if not isinstance(item, ast.Constant) or not isinstance(item.value, str | int | bool | type(None)):
            raise _Unsupported("Literal[...] values must be strings, integers, booleans or None")
        values.append(item.value)
    return {"enum": values}


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The summary (first paragraph) and the ``Args:`` entries of a Google-style docstring."""
    lines = doc.strip().splitlines()
    summary_lines: list[str] = []
    for line in lines:
        if not line.strip():
            break
        summary_lines.append(line.strip())
    arg_docs: dict[str, str] = {}
    in_args = False
    current: str | None = None
    args_indent = entry_indent = 0
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if stripped in ("Args:", "Arguments:", "Parameters:"):
            in_args, current, args_indent = True, None, indent
            continue
        if not in_args:
            continue
        if stripped and indent <= args_indent:
            in_args = False  # the next section ("Returns:", ...) starts
            continue
        head, sep, rest = stripped.partition(":")
        name = head.split("(")[0].strip()
        if sep and name.isidentifier() and (current is None or indent <= entry_indent):
            current, entry_indent = name, indent
            arg_docs[name] = rest.strip()
        elif current is not None and stripped:
            arg_docs[current] = f"{arg_docs[current]} {stripped}".strip()
    return " ".join(summary_lines), arg_docs


_JSON_TYPES: Final[dict[str, str]] = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean (true/false)",
    "array": "an array",
    "object": "an object",
    "null": "null",
}


def validate_arguments(schema: dict[str, Any], arguments: Any) -> list[str]:
    """Check a call's arguments against a schema from ``derive_contract``; [] means valid."""
    if not isinstance(arguments, dict):
        return [f"arguments must be a JSON object, got {_describe(arguments)}"]
    errors: list[str] = []
    properties: dict[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in arguments:
            errors.append(f"missing required argument '{name}'")
    for name, value in arguments.items():
        if name not in properties:
            expected = ", ".join(properties) or "none"
            errors.append(f"unknown argument {_json_repr(name)}; this tool accepts: {expected}")
            continue
        errors.extend(_check(properties[name], value, f"argument '{name}'"))
    return errors


def _check(schema: dict[str, Any], value: Any, where: str) -> list[str]:
    if "anyOf" in schema:
        if any(not _check(option, value, where) for option in schema["anyOf"]):
            return []
        return [f"{where}: {_describe(value)} matches none of the allowed forms"]
    if "enum" in schema:
        if any(value == option and type(value) is type(option) for option in schema["enum"]):
            return []
        allowed = ", ".join(_json_repr(option) for option in schema["enum"])
        return [f"{where}: must be one of {allowed}, got {_json_repr(value)}"]
    expected = schema.get("type")
    if expected is not None:
        allowed_types = [expected] if isinstance(expected, str) else list(expected)
        if not any(_is_type(value, kind) for kind in allowed_types):
            wanted = " or ".join(_JSON_TYPES.get(kind, kind) for kind in allowed_types)
            return [f"{where}: expected {wanted}, got {_describe(value)}"]
    errors: list[str] = []
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            errors.extend(_check(schema["items"], item, f"{where}[{index}]"))
    if isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        for key, item in value.items():
            if not isinstance(key, str):
                errors.append(f"{where}: object keys must be strings")
                continue
            errors.extend(_check(schema["additionalProperties"], item, f"{where}[{key!r}]"))
    return errors


def _is_type(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return kind == "null" and value is None


def _describe(value: Any) -> str:
    kind = next(
        (
            name
            for name in ("boolean", "integer", "number", "string", "array", "object", "null")
            if _is_type(value, name)
        ),
        type(value).__name__,
    )
    noun = _JSON_TYPES.get(kind, kind).removesuffix(" (true/false)")
    return f"{noun} ({_json_repr(value)})"


def _json_repr(value: Any) -> str:
    text = json.dumps(value, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."
