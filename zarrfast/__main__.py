"""Command line: ``zarrfast`` / ``python -m zarrfast``.

Commands: ``bench`` (the README's main job: write and read a real array on the embedded
default store and print throughput) and ``info URL_OR_PATH``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence

import numpy as np

__all__ = ["main"]


def _make_data(shape: tuple[int, ...], dtype: str, seed: int = 0) -> np.ndarray:
    """Compressible like real data: a smooth field plus noise, deterministic."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*(np.linspace(0, 6.0, s, dtype=np.float32) for s in shape[1:]), indexing="ij")
    base = sum(np.sin(g * (i + 1)) for i, g in enumerate(grids)) if grids else np.float32(0)
    out = np.empty(shape, dtype=dtype)
    for i in range(shape[0]):
        plane = (base + np.float32(i / shape[0])) * 1000 + rng.normal(0, 8, shape[1:]).astype(np.float32)
        out[i] = plane.astype(dtype) if np.dtype(dtype).kind == "f" else np.clip(plane + 30000, 0, 65535).astype(dtype)
    return out


def cmd_bench(args: argparse.Namespace) -> int:
    import zarrfast as zf

    itemsize = np.dtype(args.dtype).itemsize
    side = int(round((args.size_mb * 1024 * 1024 / itemsize) ** (1 / 3)))
    side -= side % args.chunk
    shape = (side, side, side)
    workdir = args.path or tempfile.mkdtemp(prefix="zarrfast-bench-")
    path = f"{workdir.rstrip('/')}/bench.zarr"
    print(f"zarrfast bench: {args.dtype} array {shape} = {np.prod(shape) * itemsize / 2**20:.0f} MiB, "
          f"chunks {args.chunk}^3, compressor {args.compressor}, store {args.store} at {path}, "
          f"{zf.config.num_threads} threads")
    t0 = time.perf_counter()
    data = _make_data(shape, args.dtype)
    print(f"  generated data in {time.perf_counter() - t0:.2f} s")
    try:
        kwargs = {"storage": args.store, "path": path} if args.store != "memory" else {"storage": "memory"}
        arr = zf.create(shape=shape, chunks=(args.chunk,) * 3, dtype=args.dtype,
                        compressor=None if args.compressor == "none" else args.compressor,
                        overwrite=True, **kwargs)
        nbytes = data.nbytes
        best_w = best_r = float("inf")
        for rep in range(args.repeat):
            t0 = time.perf_counter()
            arr[...] = data
            tw = time.perf_counter() - t0
            t0 = time.perf_counter()
            back = arr[...]
            tr = time.perf_counter() - t0
            best_w, best_r = min(best_w, tw), min(best_r, tr)
            print(f"  run {rep + 1}: write {tw:.3f} s ({nbytes / tw / 1e9:.2f} GB/s), "
                  f"read {tr:.3f} s ({nbytes / tr / 1e9:.2f} GB/s)")
            if not np.array_equal(back, data):
                print("  ERROR: data read back differs from data written", file=sys.stderr)
                return 1
        stored = arr.nbytes_stored
        print(f"  stored {stored / 2**20:.1f} MiB (ratio {nbytes / max(stored, 1):.2f}), "
              f"{arr.nchunks_initialized} chunks")
        print(f"  best: write {nbytes / best_w / 1e9:.2f} GB/s, read {nbytes / best_r / 1e9:.2f} GB/s; "
              "data verified")
    finally:
        if not args.keep and args.path is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    import zarrfast as zf

    node = zf.open(args.url, mode="r")
    print(node.info)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zarrfast", description="Fast Zarr v2/v3 arrays.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bench", help="write and read a real array and print throughput")
    b.add_argument("--size-mb", type=float, default=512, help="array size in MiB (default 512)")
    b.add_argument("--dtype", default="uint16")
    b.add_argument("--chunk", type=int, default=64, help="cubic chunk side (default 64)")
    b.add_argument("--compressor", default="zstd", help="zstd, blosc, zlib, gzip, lz4 or none")
    b.add_argument("--store", default="filesystem", help="storage backend (default: filesystem)")
    b.add_argument("--path", default=None, help="directory to write into (default: a temp dir)")
    b.add_argument("--repeat", type=int, default=3)
    b.add_argument("--keep", action="store_true", help="keep the array afterwards")
    b.set_defaults(func=cmd_bench)
    i = sub.add_parser("info", help="describe an array or group")
    i.add_argument("url")
    i.set_defaults(func=cmd_info)
    args = parser.parse_args(argv)
    from zarrfast.errors import ZarrfastError

    try:
        return int(args.func(args))
    except ZarrfastError as exc:
        print(f"zarrfast: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
