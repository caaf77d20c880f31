"""The restricted compiler: RestrictedPython's transformer, extended for modern tool code.

RestrictedPython rejects ``async def``, ``await``, ``async for``/``with`` and annotated
assignment; mcpbox tools are mostly async and typed, so this subclass accepts them while keeping
every guard (attribute reads through ``_getattr_``, writes through ``_write_``, ``_`` names
refused). What RestrictedPython rejects on purpose stays rejected: ``match``, ``nonlocal``,
``except*``, ``exec``/``eval``, ``*`` imports, ``metaclass=``. On top of that it refuses imports
outside the allowlist, the introspection attributes of ``guards.BLOCKED_ATTRIBUTES`` and calls to
builtins a tool does not have, so ``mcpbox_validate_code`` reports them with a line number before
anything runs.
"""

from __future__ import annotations

import ast
import copy
import types
from dataclasses import dataclass
from typing import Any, Final, cast

from RestrictedPython.transformer import IOPERATOR_TO_STR, RestrictingNodeTransformer

from mcpbox.sandbox.worker.contract import Violation
from mcpbox.sandbox.worker.policy.builtins import UNAVAILABLE_BUILTINS
from mcpbox.sandbox.worker.policy.guards import BLOCKED_ATTRIBUTES
from mcpbox.sandbox.worker.policy.modules import MODULE_ATTRIBUTES, is_never_allowed
from mcpbox.sandbox.worker.policy.reporting import TOOL_FILENAME

# Special methods a tool class may define. Excluded: attribute hooks (__getattribute__,
# __setattr__...), pickling and copy hooks, __del__ (runs at an arbitrary later time), __new__,
# __init_subclass__, __set_name__, __class_getitem__, descriptors and __await__.
ALLOWED_SPECIAL_METHODS: Final[frozenset[str]] = frozenset(
    {
        "__init__", "__post_init__", "__repr__", "__str__", "__format__", "__bool__", "__len__",
        "__hash__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__contains__",
        "__iter__", "__next__", "__aiter__", "__anext__", "__enter__", "__exit__", "__aenter__",
        "__aexit__", "__getitem__", "__setitem__", "__delitem__", "__missing__", "__call__",
        "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
        "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__",
        "__neg__", "__pos__", "__abs__", "__and__", "__or__", "__xor__", "__invert__",
        "__int__", "__float__", "__index__", "__round__",
    }
)  # fmt: skip


class ToolTransformer(RestrictingNodeTransformer):
    """One instance per compilation; collects structured violations instead of strings."""

    def __init__(self, allowed_modules: frozenset[str]) -> None:
        super().__init__()
        self.allowed_modules = allowed_modules
        self.violations: list[Violation] = []
        self.bound_names: set[str] = set()

    def error(self, node: ast.AST, info: str) -> None:
        line = getattr(node, "lineno", 0) or 0
        column = (getattr(node, "col_offset", 0) or 0) + 1
        self.violations.append(Violation(line=line, column=column, message=info))
        self.errors.append(f"Line {line}: {info}")

    def check_name(self, node: Any, name: str | None, allow_magic_methods: bool = False) -> None:
        if (
            name is not None
            and allow_magic_methods
            and name in ALLOWED_SPECIAL_METHODS
            and node.col_offset != 0
        ):
            return
        if name is not None and name.startswith("__") and name.endswith("__") and allow_magic_methods:
            self.error(node, f'special method "{name}" is not allowed in mcpbox tools')
            return
        super().check_name(node, name)

    def visit_Module(self, node: ast.Module) -> Any:
        self.bound_names = _bound_names(node)
        return super().visit_Module(node)

    # --- async and annotations ---------------------------------------------------------------

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> Any:
        self.check_name(node, node.name, allow_magic_methods=True)
        self.check_function_argument_names(node)
        with self.print_info.new_print_scope():
            node = self.node_contents_visit(node)
            self.inject_print_collector(cast(ast.FunctionDef, node))
        return node

    def visit_Await(self, node: ast.Await) -> Any:
        return self.node_contents_visit(node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> Any:
        # No _getiter_ around an async iterable (iter() cannot take one); the element access it
        # would guard is the same ``__anext__`` call that the loop makes anyway.
        return self.node_contents_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> Any:
        if node.is_async:  # ``[x async for x in y]``: same reasoning as visit_AsyncFor
            return self.node_contents_visit(node)
        return super().visit_comprehension(node)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> Any:
        node = self.node_contents_visit(node)
        for item in reversed(node.items):
            if isinstance(item.optional_vars, ast.Tuple):
                tmp_target, unpack = self.gen_unpack_wrapper(node, item.optional_vars)
                item.optional_vars = tmp_target
                node.body.insert(0, unpack)
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> Any:
        return self.node_contents_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        """``self.n += 1`` and ``counts[word] += 1`` become a guarded read and a guarded write.

        RestrictedPython refuses augmented assignment to attributes and items outright; tools use
        both constantly. The rewrite evaluates the target expression twice, so it is only done
        when that is side-effect free: a plain name, indexed by a name or a constant.
        """
        target = node.target
        simple_attribute = isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
        simple_item = (
            isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Name)
            and isinstance(target.slice, ast.Name | ast.Constant)
        )
        if not (simple_attribute or simple_item):
            return super().visit_AugAssign(node)
        assert isinstance(target, ast.Attribute | ast.Subscript)
        read = copy.deepcopy(target)
        read.ctx = ast.Load()
        # The parts are visited (and so guarded) before the generated call is put around them.
        value = ast.Call(
            func=ast.Name("_inplacevar_", ast.Load()),
            args=[ast.Constant(IOPERATOR_TO_STR[type(node.op)]), self.visit(read), self.visit(node.value)],
            keywords=[],
        )
        assign = ast.Assign(targets=[self.visit(target)], value=value)
        ast.copy_location(assign, node)
        return ast.fix_missing_locations(assign)

    # --- extra refusals ----------------------------------------------------------------------

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if node.attr in BLOCKED_ATTRIBUTES and not node.attr.startswith("_"):
            self.error(node, f'"{node.attr}" is not allowed: it exposes interpreter internals.')
        return super().visit_Attribute(node)

    def visit_Call(self, node: ast.Call) -> Any:
        func = node.func
        if (
            isinstance(func, ast.Name)
            and func.id in UNAVAILABLE_BUILTINS - {"exec", "eval"}
            and func.id not in self.bound_names
        ):
            self.error(node, f'"{func.id}" is not available in mcpbox tools.')
        return super().visit_Call(node)

    def visit_Import(self, node: ast.Import) -> Any:
        for alias in node.names:
            self._check_module(node, alias.name, ())
        return super().visit_Import(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        if node.level:
            self.error(node, "relative imports are not allowed in mcpbox tools.")
        else:
            self._check_module(node, node.module or "", tuple(alias.name for alias in node.names))
        return super().visit_ImportFrom(node)

    def _check_module(self, node: ast.stmt, module: str, names: tuple[str, ...]) -> None:
        if module == "__future__":
            if any(name != "annotations" for name in names):
                self.error(node, "only `from __future__ import annotations` is allowed.")
            return
        allowed = self.allowed_modules
        if not is_never_allowed(module):
            if module in allowed and module in MODULE_ATTRIBUTES:
                for name in names:
                    if name not in MODULE_ATTRIBUTES[module] and f"{module}.{name}" not in allowed:
                        self.error(
                            node,
                            f"'{name}' cannot be imported from '{module}': "
                            "it is not available to mcpbox tools.",
                        )
                return
            if module in allowed or any(f"{module}.{name}" in allowed for name in names):
                return
        usable = sorted(name for name in allowed if not is_never_allowed(name))
        self.error(node, f"import of '{module}' is not allowed; allowed modules: {', '.join(usable)}.")


def _bound_names(tree: ast.Module) -> set[str]:
    """Every name the module binds somewhere, so ``dir = ...; dir(...)`` is not misreported."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
    return bound


@dataclass(frozen=True)
class CompiledTool:
    code: types.CodeType | None
    tree: ast.Module | None
    violations: list[Violation]


def compile_tool(source: str, allowed_modules: frozenset[str]) -> CompiledTool:
    """Parse, check and transform ``source``; compile only if no violation was found.

    Returns the original (untransformed) tree too, for the contract checks that read signatures.
    """
    try:
        original = ast.parse(source, TOOL_FILENAME, "exec")
        tree = ast.parse(source, TOOL_FILENAME, "exec")
        transformer = ToolTransformer(allowed_modules)
        transformer.visit(tree)
        violations = sorted(set(transformer.violations), key=lambda v: (v.line, v.column, v.message))
        if violations:
            return CompiledTool(None, original, violations)
        return CompiledTool(compile(tree, TOOL_FILENAME, "exec", dont_inherit=True), original, [])
    except SyntaxError as exc:
        message = f"syntax error: {exc.msg}"
        return CompiledTool(None, None, [Violation(exc.lineno or 0, exc.offset or 0, message)])
    except (RecursionError, MemoryError):
        # Hostile input can nest expressions deep enough to exhaust the parser or the compiler.
        message = "the code is nested too deeply to compile; split long expressions into statements"
        return CompiledTool(None, None, [Violation(1, 1, message)])
