"""Fixtures for the pytest-benchmark suites.

``pytest bench --benchmark-disable`` is the CI smoke run: every benchmark body runs once
(about 10 s on 2 cores at the default ``small`` scale).  ``pytest bench --benchmark-only``
measures.  Both use ``--scale`` (or ``$ZARRFAST_BENCH_SCALE``, default ``small``).
Benchmarks that move data record their byte count in ``extra_info["bytes"]``; the
terminal summary turns medians into GB/s and the saved JSON gets ``extra_info["GB/s"]``.
No test ever asserts a timing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import workloads as W


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--scale",
        default=None,
        choices=sorted(W.SCALES),
        help=f"benchmark scale (default ${W.SCALE_ENV} or small)",
    )


@pytest.fixture(scope="session")
def bench_scale(request: pytest.FixtureRequest) -> str:
    explicit = request.config.getoption("--scale")
    return str(explicit) if explicit else W.current_scale()


@pytest.fixture(scope="session")
def threads_all() -> int:
    return W.default_threads()


@pytest.fixture
def throughput(benchmark: Any) -> Callable[..., Any]:
    """``throughput(fn, nbytes, rounds=...)``: pedantic benchmark recording bytes moved."""

    def run(
        fn: Callable[[], Any],
        nbytes: int,
        *,
        rounds: int = 5,
        setup: Callable[[], Any] | None = None,
    ) -> Any:
        benchmark.extra_info["bytes"] = int(nbytes)
        if setup is None:
            return benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1)

        def prepare() -> tuple[tuple[()], dict[str, Any]]:
            setup()
            return (), {}

        return benchmark.pedantic(fn, setup=prepare, rounds=rounds)

    return run


def _throughputs(config: pytest.Config) -> list[tuple[str, float, float]]:
    session = getattr(config, "_benchmarksession", None)
    rows = []
    for bench in getattr(session, "benchmarks", None) or []:
        nbytes = bench.extra_info.get("bytes")
        stats = getattr(bench, "stats", None)
        median = getattr(stats, "median", None) if stats is not None else None
        if nbytes and median:
            rows.append((bench.fullname.split("::", 1)[-1], median, nbytes / median / 1e9))
    return rows


def pytest_benchmark_update_json(
    config: pytest.Config, benchmarks: Any, output_json: dict[str, Any]
) -> None:
    for b in output_json.get("benchmarks", []):
        nbytes = b.get("extra_info", {}).get("bytes")
        median = b.get("stats", {}).get("median")
        if nbytes and median:
            b["extra_info"]["GB/s"] = nbytes / median / 1e9


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    rows = _throughputs(config)
    if not rows:
        return
    terminalreporter.section("throughput (median)")
    width = max(len(r[0]) for r in rows)
    for name, median, gbps in rows:
        terminalreporter.write_line(f"{name:<{width}}  {median * 1e3:10.3f} ms  {gbps:8.3f} GB/s")
