"""The isolation report: built from what a real zygote and worker achieved, each layer with a reason."""

from __future__ import annotations

import pytest

from mcpbox.sandbox.isolation import IsolationReport, detect_isolation, probe_isolation, report_from_facts
from mcpbox.sandbox.worker.landlock import abi_version

FULL_ZYGOTE = {
    "user_namespace": True, "network_namespace": True, "loopback_only": True, "namespace_reason": "",
    "landlock_abi": 6, "landlock_scoped": 3, "landlock_paths": ["/usr"], "capabilities_dropped": True,
    "zygote_dies_with_parent": True, "uid": 1000, "dropped_root": False,
}  # fmt: skip
RLIMITS = dict.fromkeys(
    ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_FSIZE", "RLIMIT_CORE"), True
)
FULL_WORKER = {
    "landlock": True, "no_new_privs": True, "dies_with_parent": True, "open_fds": [0, 1, 2, 3],
    "rlimits": RLIMITS,
}  # fmt: skip


def test_full_facts_make_a_complete_report() -> None:
    report = report_from_facts(FULL_ZYGOTE, FULL_WORKER)
    assert report.complete
    assert "ABI 6" in report.layer("landlock").detail
    assert not report.layer("seccomp").active
    assert not report.layer("seccomp").required


def test_each_missing_layer_is_named_with_its_reason() -> None:
    why = "unshare(CLONE_NEWUSER|CLONE_NEWNET) failed: Operation not permitted"
    zygote = {**FULL_ZYGOTE, "user_namespace": False, "network_namespace": False, "namespace_reason": why}
    worker = {**FULL_WORKER, "landlock": False, "rlimits": {**RLIMITS, "RLIMIT_NPROC": False}}
    report = report_from_facts({**zygote, "landlock_reason": "the kernel has no Landlock"}, worker)
    missing = {layer.name: layer.detail for layer in report.missing}
    assert set(missing) == {"user_namespace", "network_namespace", "landlock", "rlimits"}
    assert "Operation not permitted" in missing["user_namespace"]
    assert "no Landlock" in missing["landlock"]
    assert "RLIMIT_NPROC" in missing["rlimits"]
    assert any(line.startswith("MISSING") for line in report.lines())


def test_report_serialises_for_health_ready() -> None:
    data = report_from_facts(FULL_ZYGOTE, FULL_WORKER).to_dict()
    assert data["complete"] is True
    assert {"name", "active", "required", "detail"} <= set(data["layers"][0])


def _assert_matches_this_host(report: IsolationReport) -> None:
    # This host (the project's CI box) has user namespaces and Landlock >= 6; the report must say
    # so from inside a worker, not from a guess.
    assert report.complete, report.summary()
    assert report.layer("landlock").detail.startswith(f"ABI {abi_version()}")


@pytest.mark.anyio
async def test_probe_reports_what_a_real_worker_achieved() -> None:
    _assert_matches_this_host(await probe_isolation())


def test_detect_isolation_works_without_a_running_loop() -> None:
    _assert_matches_this_host(detect_isolation())
