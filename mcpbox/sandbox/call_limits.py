"""Per-call limits as the supervisor applies them, and the frame bounds they imply.

Defaults come from ``Config`` (``call_*``); a caller may pass its own (for example a tool's
tighter timeout). Wall time is enforced by the supervisor, CPU by RLIMIT_CPU re-armed in the
worker, memory by RLIMIT_AS fixed at spawn (a call asking for a different memory limit gets a
fresh worker), and output sizes by the runtime inside the worker - with the frame bound as the
supervisor's own backstop.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcpbox.errors import InvalidInput
from mcpbox.sandbox.worker.frames import ENVELOPE_BYTES

if TYPE_CHECKING:
    from mcpbox.config import Config

# JSON may escape a control character as six bytes (\u0000); bounds allow for the worst case.
JSON_EXPANSION = 6


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """Everything one call may use."""

    timeout_seconds: float = 30.0
    cpu_seconds: int = 30
    memory_mib: int = 256
    stdout_bytes: int = 64 * 1024
    result_bytes: int = 1024 * 1024
    code_bytes: int = 100_000
    http_requests: int = 32
    http_response_bytes: int = 10 * 1024 * 1024

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            if getattr(self, item.name) <= 0 and item.name != "http_requests":
                raise InvalidInput(f"sandbox limit {item.name} must be positive")

    @classmethod
    def from_config(cls, config: Config) -> SandboxLimits:
        return cls(
            timeout_seconds=config.call_timeout_seconds,
            cpu_seconds=config.call_cpu_seconds,
            memory_mib=config.call_memory_mib,
            stdout_bytes=config.call_stdout_bytes,
            result_bytes=config.call_result_bytes,
            code_bytes=config.call_code_bytes,
            http_requests=config.call_http_requests,
            http_response_bytes=config.call_http_response_bytes,
        )

    def replace(self, **changes: Any) -> SandboxLimits:
        return dataclasses.replace(self, **changes)

    def to_wire(self) -> dict[str, int]:
        """The part the policy runtime enforces inside the worker."""
        return {
            "stdout_bytes": self.stdout_bytes,
            "result_bytes": self.result_bytes,
            "code_bytes": self.code_bytes,
            "http_requests": self.http_requests,
        }


def inbound_frame_bound(limits: SandboxLimits) -> int:
    """Largest frame the supervisor accepts from a worker: an outcome or an HTTP request."""
    outcome = JSON_EXPANSION * (limits.result_bytes + limits.stdout_bytes)
    request = 2 * limits.http_response_bytes  # base64 body plus headers
    return max(outcome, request) + ENVELOPE_BYTES


def outbound_frame_bound(limits: SandboxLimits, max_arguments_bytes: int) -> int:
    """Largest frame a worker accepts: a call (code, arguments, secrets) or an HTTP result."""
    call = JSON_EXPANSION * limits.code_bytes + max_arguments_bytes + 1024 * 1024
    http_result = 2 * limits.http_response_bytes
    return max(call, http_result) + ENVELOPE_BYTES
