"""Module and network-host requests as an LLM makes them, and package-aware module approval.

Validation and policy live here, the state changes in ``mcpbox.approvals.service``:

* A module request names the import name; a module outside the standard library also names its
  PyPI package and one pinned version. Modules on the hard deny list are refused outright.
* ``module_approval_mode = auto_approve`` approves standard-library modules at once (recorded
  as ``policy:auto_approve``). PyPI packages always wait for the owner: installing third-party
  code is a supply-chain decision a policy switch should not make silently.
* Host requests are stored in canonical form (lowercase, IDNA, canonical IP) so the allowlist
  matches what the egress broker compares. There is no auto-approval for hosts;
  ``network_access_policy = public_internet`` is the switch for "any public host".
* Approving a package module installs it first (audit + wheel-only pip); only a successful
  install is followed by the conditional UPDATE that puts the module on the allowlist.
"""

from __future__ import annotations

import sys

from mcpbox.approvals import service as approvals
from mcpbox.approvals.hooks import Hooks, event
from mcpbox.db import request_store
from mcpbox.db.engine import Database
from mcpbox.db.models import RequestStatus
from mcpbox.db.request_store import RequestInfo, RequestKind
from mcpbox.errors import Conflict, InvalidInput, MCPBoxError, PermissionDenied
from mcpbox.sandbox.worker.policy.modules import DEFAULT_MODULES
from mcpbox.tools.allowlists import canonical_host, check_module_name
from mcpbox.tools.packages import PackageInstaller, parse_package_spec
from mcpbox.tools.policy import load_policy

JUSTIFICATION_MAX = 2000


def is_stdlib(module: str) -> bool:
    return module.split(".")[0] in sys.stdlib_module_names


async def request_module(
    db: Database,
    *,
    server: str,
    module: str,
    requested_by: str,
    hooks: Hooks,
    package: str | None = None,
    version: str | None = None,
    justification: str = "",
) -> RequestInfo:
    """Ask for ``module`` on ``server``. Emits ``module.requested`` (+ approval events if auto).

    ``InvalidInput`` (bad or forbidden name, third-party module without a pinned package, already
    a default module), ``NotFound`` (server), ``Conflict`` (already pending or approved).
    """
    check_module_name(module)
    _check_justification(justification)
    if module in DEFAULT_MODULES:
        raise InvalidInput(f"module {module!r} is allowed by default; no request is needed")
    if package is not None:
        spec = parse_package_spec(package, version)
        package, version = spec.name, spec.version
    elif version is not None:
        raise InvalidInput("a version only makes sense with a package; give the PyPI package name too")
    elif not is_stdlib(module):
        raise InvalidInput(
            f"module {module!r} is not in the standard library: give the PyPI package that provides it "
            "and one pinned version (e.g. package 'PyYAML', version '6.0.2')"
        )
    policy = await load_policy(db)
    auto = policy.auto_approve_modules and package is None
    return await approvals.submit_module_request(
        db,
        server=server,
        module=module,
        requested_by=requested_by,
        hooks=hooks,
        package=package,
        version=version,
        justification=justification,
        auto_approved_by=approvals.AUTO_APPROVER if auto else None,
    )


async def request_network_access(
    db: Database, *, server: str, host: str, requested_by: str, hooks: Hooks, justification: str = ""
) -> RequestInfo:
    """Ask for ``host`` (``name``, ``name:port`` or an IP literal) on ``server``. Emits ``host.requested``.

    ``InvalidInput`` (not a host), ``NotFound`` (server), ``Conflict`` (already pending or approved).
    """
    _check_justification(justification)
    return await approvals.submit_host_request(
        db,
        server=server,
        host=canonical_host(host),
        requested_by=requested_by,
        hooks=hooks,
        justification=justification,
    )


async def approve_module_request(
    db: Database,
    request_id: int,
    *,
    decided_by: str,
    hooks: Hooks,
    reason: str | None = None,
    installer: PackageInstaller | None = None,
) -> RequestInfo:
    """Approve a module request, installing its package first when it has one.

    Emits ``package.installed`` or ``package.install_refused`` for packages, then the approval
    events. ``Conflict`` if already decided; ``PermissionDenied`` if a package needs installing
    and no installer is configured, or the audit refuses it; ``InvalidInput`` if pip fails.
    """
    request = await request_store.get_request(db, RequestKind.MODULE, request_id)
    if request.status is not RequestStatus.PENDING:
        raise Conflict(
            f"module request {request.ref} was already {request.status.value} by {request.decided_by}"
        )
    if request.package is not None and request.version is not None:
        if installer is None:
            raise PermissionDenied("package installation is not configured on this mcpbox")
        spec = parse_package_spec(request.package, request.version)

        def progress(line: str) -> None:
            hooks.record(event("package.progress", actor=decided_by, server=request.server, message=line))

        try:
            report = await installer.install(spec, progress=progress)
        except MCPBoxError as exc:
            hooks.record(
                event(
                    "package.install_refused",
                    actor=decided_by,
                    server=request.server,
                    package=spec.requirement,
                    why=exc.public_message,
                )
            )
            raise
        hooks.record(
            event(
                "package.installed",
                actor=decided_by,
                server=request.server,
                package=spec.requirement,
                entries=list(report.entries),
            )
        )
    return await approvals.approve_request(
        db, RequestKind.MODULE, request_id, decided_by=decided_by, hooks=hooks, reason=reason
    )


def _check_justification(text: str) -> None:
    if len(text) > JUSTIFICATION_MAX:
        raise InvalidInput(f"justification is longer than {JUSTIFICATION_MAX} characters")
