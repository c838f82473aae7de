"""Runtime configuration: thread budget, batch sizes; environment overrides ``ZARRFAST_*``.

``zarrfast.config.num_threads`` is the single thread budget the pipeline divides between
chunk-level parallelism and codec-internal parallelism.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["Config", "config", "set_config"]


def _env_int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"expected an integer in ${name}, got {raw!r}") from exc
    if value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"expected {what} in ${name}, got {value}")
    return value


def _env_engine() -> str:
    raw = os.environ.get("ZARRFAST_ENGINE", "auto").strip() or "auto"
    if raw not in ("auto", "python"):
        raise ValueError(f"expected 'auto' or 'python' in $ZARRFAST_ENGINE, got {raw!r}")
    return raw


def _default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass
class Config:
    """Tunables.  Read at call time, so changes apply to the next operation."""

    #: Threads for chunk decode/encode (env ``ZARRFAST_NUM_THREADS``).
    num_threads: int = 1
    #: Max chunks handed to one batch (bounds memory of whole-array writes).
    batch_size: int = 256
    #: Max encoded bytes held by one write batch (env ``ZARRFAST_BATCH_BYTES``).
    batch_bytes: int = 256 * 1024 * 1024
    #: Whether chunks equal to the fill value everywhere are skipped on write.
    write_empty_chunks: bool = False
    #: ``"auto"`` (native engine where the chain allows, else Python) or ``"python"``
    #: (always the Python engine: for comparisons and debugging; env ``ZARRFAST_ENGINE``).
    #: Read when an array is opened.
    engine: str = "auto"
    #: Bytes of freed read outputs kept for reuse by the next large read (0: off, the
    #: default; env ``ZARRFAST_OUTPUT_ARENA_BYTES``).  A fresh output pays the kernel a
    #: page fault and a zeroed page per 4 KiB on first touch (~1/4 of a full W1 read);
    #: outputs carved from the arena are already mapped.  Costs up to this much memory
    #: while idle; ``zarrfast.core.pipeline.release_output_arena()`` gives it back.
    output_arena_bytes: int = 0

    @classmethod
    def from_env(cls) -> Config:
        return cls(
            num_threads=_env_int("ZARRFAST_NUM_THREADS", _default_threads()),
            batch_size=_env_int("ZARRFAST_BATCH_SIZE", 256),
            batch_bytes=_env_int("ZARRFAST_BATCH_BYTES", 256 * 1024 * 1024),
            engine=_env_engine(),
            output_arena_bytes=_env_int("ZARRFAST_OUTPUT_ARENA_BYTES", 0, minimum=0),
        )


config = Config.from_env()


@contextlib.contextmanager
def set_config(**changes: Any) -> Iterator[Config]:
    """Temporarily change configuration values: ``with set_config(num_threads=1): ...``."""
    names = {f.name for f in fields(Config)}
    unknown = set(changes) - names
    if unknown:
        raise ValueError(
            f"unknown config option(s) {sorted(unknown)}; expected one of {sorted(names)}"
        )
    old = {k: getattr(config, k) for k in changes}
    for k, v in changes.items():
        setattr(config, k, v)
    try:
        yield config
    finally:
        for k, v in old.items():
            setattr(config, k, v)
