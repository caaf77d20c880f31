"""Tool versions: what one version contains, and the content hash an approval is bound to.

The hash covers everything the owner judges: code, description, input schema, declared modules
and declared hosts. It is SHA-256 over canonical JSON (sorted keys, no whitespace, UTF-8, lists
of modules and hosts sorted and de-duplicated), so the same content always gives the same hash,
on any machine and any Python, and changing any one field gives another.

Declared modules are what the LLM declared plus every import in the code outside the default
allowlist: a reviewer sees everything the code will try to import, whether declared or not.
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Iterable

from mcpbox.db.tool_store import VersionContent
from mcpbox.errors import InvalidInput
from mcpbox.sandbox.worker.contract import derive_contract
from mcpbox.sandbox.worker.policy.modules import DEFAULT_MODULES
from mcpbox.tools.allowlists import canonical_host, check_module_name

DESCRIPTION_MAX = 4000
MAX_MODULES = 50
MAX_HOSTS = 50
HASH_SCHEME = "mcpbox-tool-v1"  # part of the hashed document: a future change of scheme cannot collide


def content_hash(content: VersionContent) -> str:
    """SHA-256 hex of the canonical JSON of ``content``."""
    document = {
        "scheme": HASH_SCHEME,
        "code": content.code,
        "description": content.description,
        "input_schema": content.input_schema,
        "modules": sorted(set(content.modules)),
        "hosts": sorted(set(content.hosts)),
    }
    canonical = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def build_content(
    code: str,
    *,
    description: str | None = None,
    modules: Iterable[str] = (),
    hosts: Iterable[str] = (),
    max_code_bytes: int = 100_000,
) -> VersionContent:
    """Check tool source against the tool contract and derive a version's content from it.

    The input schema comes from ``main``'s signature; the description defaults to the summary of
    ``main``'s docstring. ``InvalidInput`` lists every problem with its line, for the LLM to fix.
    Sandbox policy (forbidden names, attributes) is checked by validation, not here.
    """
    if len(code.encode("utf-8")) > max_code_bytes:
        raise InvalidInput(f"code is larger than {max_code_bytes} bytes; split it or simplify it")
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise InvalidInput(f"syntax error at line {exc.lineno}: {exc.msg}") from exc
    contract = derive_contract(tree)
    if contract.violations or contract.input_schema is None:
        problems = "; ".join(f"line {v.line}: {v.message}" for v in contract.violations)
        raise InvalidInput(f"the code does not follow the tool contract: {problems}")
    text = (description if description is not None else contract.description).strip()
    if not text:
        raise InvalidInput("the tool needs a description: pass one, or give main() a docstring")
    if len(text) > DESCRIPTION_MAX:
        raise InvalidInput(f"description is longer than {DESCRIPTION_MAX} characters")
    declared = {check_module_name(name) for name in modules} | imported_modules(tree)
    host_rules = {canonical_host(entry) for entry in hosts}
    if len(declared) > MAX_MODULES or len(host_rules) > MAX_HOSTS:
        raise InvalidInput(f"a tool may declare at most {MAX_MODULES} modules and {MAX_HOSTS} hosts")
    return VersionContent(
        code=code,
        description=text,
        input_schema=contract.input_schema,
        modules=tuple(sorted(declared)),
        hosts=tuple(sorted(host_rules)),
    )


def imported_modules(tree: ast.Module) -> set[str]:
    """Imports in the code that the default allowlist does not cover (checked by name)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            if name not in DEFAULT_MODULES and name.split(".")[0] not in DEFAULT_MODULES:
                found.add(check_module_name(name))
    return found
