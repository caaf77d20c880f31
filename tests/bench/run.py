"""``python -m tests.bench.run``: mcpbox vs a bare Starlette endpoint vs the official MCP SDK server.

Every server runs pinned to CPU 0 (with its children); this process, the load generator, pins
itself to CPU 1. Each server gets a fresh port on 127.0.0.1 and a private work dir; every process
started is killed (process group + descendants) on exit, Ctrl-C or SIGTERM included.

Per server: start → first successful ``initialize`` (start-to-ready) → idle PSS → each scenario at
each concurrency (warm-up, then a fixed-duration window, ``--repeat`` times, plus a few extra runs
when every run shared a pinned core with another process; the best undisturbed run is kept and
the spread shown, since interference only ever slows a run down) → PSS after load → stop. mcpbox
is then restarted ``--ready-samples`` times on its now-existing database to time start-to-ready.

Exit status: 0 when every selected server was measured (targets are printed, not enforced);
1 when the harness could not measure something (a server did not start, calls failed).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import uvloop

from tests.bench.loadgen import LoadError, LoadResult, McpSession, run_load, wait_until_ready
from tests.bench.processes import (
    ProcessRegistry,
    ServerProcess,
    cpu_busy_seconds,
    free_port,
    pin_current_process,
    sigterm_as_keyboard_interrupt,
)
from tests.bench.report import BUSY_MACHINE_PCT, BenchResults, Run, noise_flags, render, write_json
from tests.bench.scenarios import SCENARIOS, SERVERS, PreparedCalls, Scenario, ScenarioUnavailable, ServerSpec

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_CPU = 0
CLIENT_CPU = 1
SETTLE_SECONDS = 0.3
IDLE_PROBE_SECONDS = 1.0
NOISY_RETRY_BUDGET = 8  # extra runs, in all, when every run of a case was disturbed


IDLE_WORKERS_WAIT_SECONDS = 30.0
EXPECTED_IDLE_WORKERS = 4  # sandbox_idle_workers' default: the memory target counts four


async def wait_for_idle_workers(port: int) -> None:
    """Memory is measured with the sandbox up: zygote plus its pre-forked idle workers."""
    import httpx

    deadline = time.monotonic() + IDLE_WORKERS_WAIT_SECONDS
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        while time.monotonic() < deadline:
            response = await client.get("/health/ready")
            sandbox = (
                response.json().get("checks", {}).get("sandbox", {}) if response.status_code == 200 else {}
            )
            if sandbox.get("workers", 0) >= EXPECTED_IDLE_WORKERS:
                await asyncio.sleep(SETTLE_SECONDS)
                return
            await asyncio.sleep(0.1)
    print("bench: warning: the sandbox pool did not reach its idle workers; idle memory is partial",
          file=sys.stderr)  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--warmup", type=float, default=0.5, help="seconds of warm-up per run (default 0.5)")
    parser.add_argument("--duration", type=float, default=3.0, help="measured seconds per run (default 3)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per case; the best is kept (default 2)")
    parser.add_argument("--servers", default=",".join(SERVERS),
                        help=f"comma-separated subset of: {', '.join(SERVERS)}")  # fmt: skip
    parser.add_argument("--ready-samples", type=int, default=5, help="mcpbox restarts timed (default 5)")
    parser.add_argument("--token", help="bearer token for mcpbox's /mcp, if it requires one")
    parser.add_argument("--json", type=Path, default=REPO_ROOT / ".bench" / "results.json",
                        help="where to write the figures (default .bench/results.json)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the work dir (server logs, data dirs)")
    return parser.parse_args(argv)


class Bench:
    def __init__(self, args: argparse.Namespace, registry: ProcessRegistry, workdir: Path) -> None:
        self.args = args
        self.registry = registry
        self.workdir = workdir
        self.retries_left = NOISY_RETRY_BUDGET
        self.results = BenchResults(settings={
            "warmup_s": args.warmup,
            "duration_s": args.duration,
            "repeat": args.repeat,
            "server_cpu": SERVER_CPU,
            "client_cpu": CLIENT_CPU,
            "protocol": "2025-11-25 handshake, HTTP/1.1 keep-alive, one connection per worker",
        })  # fmt: skip

    def token_for(self, spec: ServerSpec) -> str | None:
        return self.args.token if spec.is_mcpbox else None

    async def run(self, keys: list[str]) -> BenchResults:
        await self.check_idle()
        for key in keys:
            spec = SERVERS[key]
            self.results.servers[key] = spec.description
            await self.bench_server(spec, [s for s in SCENARIOS if s.server == key])
            if spec.is_mcpbox and self.args.ready_samples > 0 and "mcpbox" in self.results.first_start_ms:
                await self.time_restarts(spec)
        return self.results

    async def check_idle(self) -> None:
        """Record how busy both cores are before anything starts: other load skews every figure."""
        cores = (SERVER_CPU, CLIENT_CPU)
        before = [cpu_busy_seconds(cpu) for cpu in cores]
        await asyncio.sleep(IDLE_PROBE_SECONDS)
        busy = [
            100 * (cpu_busy_seconds(cpu) - b) / IDLE_PROBE_SECONDS
            for cpu, b in zip(cores, before, strict=True)
        ]
        self.results.settings["idle_core_busy_pct"] = [round(value, 1) for value in busy]
        if max(busy) > BUSY_MACHINE_PCT:
            shown = ", ".join(f"CPU {cpu} {value:.0f}%" for cpu, value in zip(cores, busy, strict=True))
            print(f"bench: warning: the machine is not idle before the bench ({shown}); "
                  "figures will be noisy (see the core0/core1 columns)", file=sys.stderr)  # fmt: skip

    async def start(self, spec: ServerSpec, data_dir: Path) -> tuple[ServerProcess, float]:
        """Start ``spec``; return the process and its start-to-ready time in ms."""
        port = free_port()
        data_dir.mkdir(parents=True, exist_ok=True)
        process = self.registry.start(spec.key, spec.argv(port, data_dir), port, env=spec.env(data_dir))
        try:
            ready_at = await wait_until_ready(
                port, spec.ready_timeout_s, token=self.token_for(spec), alive=process.alive
            )
        except LoadError as exc:
            tail = process.log_tail()
            self.registry.stop(process)
            raise LoadError(f"{spec.key} did not become ready: {exc}\n--- log tail ---\n{tail}") from exc
        return process, (ready_at - process.started_at) * 1000

    async def bench_server(self, spec: ServerSpec, scenarios: list[Scenario]) -> None:
        print(f"bench: {spec.key}: starting ({spec.description})", file=sys.stderr)
        try:
            process, ready_ms = await self.start(spec, self.workdir / spec.key)
        except LoadError as exc:
            self.results.failures.append(str(exc))
            print(f"bench: {exc}", file=sys.stderr)
            return
        try:
            self.results.first_start_ms[spec.key] = ready_ms
            await asyncio.sleep(SETTLE_SECONDS)
            if spec.is_mcpbox:
                await wait_for_idle_workers(process.port)
            idle = process.memory()
            for scenario in scenarios:
                await self.bench_scenario(spec, process, scenario)
            loaded = process.memory()
            self.results.memory[spec.key] = {
                "idle_pss_mib": round(idle.pss_mib, 1),
                "loaded_pss_mib": round(loaded.pss_mib, 1),
                "processes": loaded.processes,
            }
        finally:
            self.registry.stop(process)

    async def bench_scenario(self, spec: ServerSpec, process: ServerProcess, scenario: Scenario) -> None:
        token = self.token_for(spec)
        calls = PreparedCalls(scenario.call)
        if scenario.prepare is not None:
            session = await McpSession.open(process.port, token=token)
            try:
                calls = await scenario.prepare(session)
            except ScenarioUnavailable as exc:
                self.results.skipped.append(
                    {"server": spec.key, "scenario": scenario.name, "reason": str(exc)}
                )
                print(f"bench: {spec.key}/{scenario.name}: skipped ({exc})", file=sys.stderr)
                return
            except (LoadError, OSError, TimeoutError) as exc:
                message = f"{spec.key}/{scenario.name}: preparing failed: {type(exc).__name__}: {exc}"
                self.results.failures.append(message)
                print(f"bench: {message}", file=sys.stderr)
                return
            finally:
                session.close()
        for concurrency in scenario.concurrencies:
            label = f"{spec.key}/{scenario.name} c={concurrency}"
            samples: list[LoadResult] = []
            attempts = self.args.repeat
            while len(samples) < attempts:
                try:
                    samples.append(await self.measure(process, calls, concurrency, token))
                except (LoadError, OSError, TimeoutError) as exc:
                    message = f"{label}: {type(exc).__name__}: {exc}"
                    self.results.failures.append(message)
                    print(f"bench: {message}", file=sys.stderr)
                    break
                quiet = [sample for sample in samples if not noise_flags(sample)]
                if len(samples) == attempts and not quiet and self.retries_left > 0:
                    # Every run shared a core with someone else: try once more, within a budget.
                    self.retries_left -= 1
                    attempts += 1
            if not samples:
                continue
            # Best of N, preferring runs nobody else disturbed: interference only slows a run down.
            quiet = [sample for sample in samples if not noise_flags(sample)]
            result = max(quiet or samples, key=lambda sample: sample.calls_per_s)
            self.results.runs.append(Run(spec.key, scenario.name, result, [s.calls_per_s for s in samples]))
            runs = ", ".join(f"{sample.calls_per_s:.0f}" for sample in samples)
            print(
                f"bench: {label}: {result.calls_per_s:.0f} calls/s (runs: {runs}), "
                f"p50 {result.percentile_ms(50):.2f} ms, p99 {result.percentile_ms(99):.2f} ms, "
                f"errors {sum(sample.errors for sample in samples)}",
                file=sys.stderr,
            )
            failed = [s for s in samples if s.errors or not s.calls]
            if failed:
                self.results.failures.append(
                    f"{label}: {failed[0].errors} failed calls, {failed[0].calls} ok; "
                    f"first error: {failed[0].first_error}"
                )

    async def measure(
        self, process: ServerProcess, calls: PreparedCalls, concurrency: int, token: str | None
    ) -> LoadResult:
        return await run_load(
            process.port,
            calls.call,
            concurrency=concurrency,
            warmup_s=self.args.warmup,
            duration_s=self.args.duration,
            token=token,
            background=calls.background,
            counters={
                "server_cpu": process.cpu_seconds,
                "server_core_busy": lambda: cpu_busy_seconds(SERVER_CPU),
                "client_core_busy": lambda: cpu_busy_seconds(CLIENT_CPU),
            },
        )

    async def time_restarts(self, spec: ServerSpec) -> None:
        """Start-to-ready on the database the first run created (the everyday restart)."""
        samples: list[float] = []
        for _ in range(self.args.ready_samples):
            try:
                process, ready_ms = await self.start(spec, self.workdir / spec.key)
            except LoadError as exc:
                self.results.failures.append(f"restart timing: {exc}")
                return
            self.registry.stop(process)
            samples.append(ready_ms)
        self.results.ready_ms[spec.key] = samples
        print(
            f"bench: {spec.key}: start-to-ready median {statistics.median(samples):.0f} ms", file=sys.stderr
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    keys = [key.strip() for key in args.servers.split(",") if key.strip()]
    unknown = [key for key in keys if key not in SERVERS]
    if unknown:
        print(f"bench: unknown servers: {', '.join(unknown)}", file=sys.stderr)
        return 2
    if not pin_current_process(CLIENT_CPU):
        print(f"bench: warning: cannot pin the load generator to CPU {CLIENT_CPU}; figures are shared-core",
              file=sys.stderr)  # fmt: skip
    workdir = Path(tempfile.mkdtemp(prefix="mcpbox-bench-"))
    started = time.monotonic()
    keep = args.keep
    try:
        with sigterm_as_keyboard_interrupt(), ProcessRegistry(workdir, server_cpu=SERVER_CPU) as registry:
            bench = Bench(args, registry, workdir)
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                results = runner.run(bench.run(keys))
        keep = keep or bool(results.failures)
    except KeyboardInterrupt:
        print("bench: interrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        if keep:
            print(f"bench: work dir (server logs, data dirs) kept at {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    results.settings["wall_s"] = round(time.monotonic() - started, 1)
    print(render(results))
    write_json(results, args.json)
    print(f"\nbench: figures written to {args.json} ({results.settings['wall_s']} s)")
    return 1 if results.failures else 0


if __name__ == "__main__":
    sys.exit(main())
