"""Helpers shared by the native-engine tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import zarrfast as zf


def sigkill_when_ready(args: list[str]) -> None:
    """Run ``python -c *args``, wait for it to print ``ready``, then SIGKILL it mid-write."""
    proc = subprocess.Popen(
        [sys.executable, "-c", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.15)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


def sharded_array(
    store,
    shape,
    inner,
    shards,
    *,
    dtype,
    fill,
    crc=True,
    start=False,
    comp="zstd",
    endian="little",
    write_empty=None,
) -> zf.Array:
    """A sharding_indexed array of ``shards`` made of ``inner`` chunks on ``store``.

    comp: the inner bytes->bytes codecs, None (bytes only), ``"zstd"`` (level 1),
    ``"crc"`` (crc32c) or ``"gzip+crc"`` (gzip level 1, then crc32c); crc: a crc32c
    after the index; start: the index before the inner chunks; endian: of the inner
    chunks and the index.
    """
    codecs: list = [{"name": "bytes", "configuration": {"endian": endian}}]
    if comp == "zstd":
        codecs.append({"name": "zstd", "configuration": {"level": 1}})
    elif comp == "crc":
        codecs.append({"name": "crc32c"})
    elif comp == "gzip+crc":
        codecs += [{"name": "gzip", "configuration": {"level": 1}}, {"name": "crc32c"}]
    elif comp is not None:
        raise ValueError(f"expected comp None, 'zstd', 'crc' or 'gzip+crc', got {comp!r}")
    index_codecs: list = [{"name": "bytes", "configuration": {"endian": endian}}]
    if crc:
        index_codecs.append({"name": "crc32c"})
    sharding = {
        "name": "sharding_indexed",
        "configuration": {
            "chunk_shape": list(inner),
            "codecs": codecs,
            "index_codecs": index_codecs,
            "index_location": "start" if start else "end",
        },
    }
    return zf.create(
        shape=shape,
        chunks=tuple(shards),
        dtype=dtype,
        codecs=[sharding],
        store=store,
        fill_value=fill,
        write_empty_chunks=write_empty,
    )


@contextlib.contextmanager
def read_only_dir(path: Path) -> Iterator[None]:
    """Make directory ``path`` read-only for the block (restored after); skips the test
    when the user ignores permissions (root)."""
    os.chmod(path, 0o500)
    try:
        if os.access(path, os.W_OK):
            pytest.skip("running as a user that ignores permissions")
        yield
    finally:
        os.chmod(path, 0o700)
