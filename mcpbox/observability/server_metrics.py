"""The metrics mcpbox declares, in one place, so /metrics and the docs agree on names."""

from __future__ import annotations

from dataclasses import dataclass

from mcpbox.observability.metrics import Counter, Histogram, MetricsRegistry


@dataclass(frozen=True, slots=True)
class ServerMetrics:
    registry: MetricsRegistry
    mcp_requests: Counter
    mcp_request_seconds: Histogram
    tool_calls: Counter
    tool_call_seconds: Histogram
    security_denials: Counter

    @classmethod
    def create(cls) -> ServerMetrics:
        registry = MetricsRegistry()
        return cls(
            registry=registry,
            mcp_requests=registry.counter(
                "mcpbox_mcp_requests_total", "MCP requests by method and outcome.", ("method", "outcome")
            ),
            mcp_request_seconds=registry.histogram(
                "mcpbox_mcp_request_seconds", "MCP request latency by method.", ("method",)
            ),
            tool_calls=registry.counter(
                "mcpbox_tool_calls_total",
                "Tool calls by server, tool and outcome.",
                ("server", "tool", "outcome"),
            ),
            tool_call_seconds=registry.histogram(
                "mcpbox_tool_call_seconds", "Tool call latency by server and tool.", ("server", "tool")
            ),
            security_denials=registry.counter(
                "mcpbox_security_denials_total", "Requests refused by a security rule, by event.", ("event",)
            ),
        )
