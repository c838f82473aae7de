"""Command line: ``zarrfast`` / ``python -m zarrfast``.

Commands:

* ``bench``: the README's main job: write and read a real array on the embedded default
  store (LMDB when available, else the filesystem) and print throughput;
* ``info URL``: format, shape, chunks, codecs, stored bytes, compression ratio, chunks;
* ``tree URL``: the hierarchy;
* ``copy SRC DST``: convert v2<->v3, re-encode, rechunk/reshard, streaming under
  ``--max-memory``, resumable (``--resume``), with a progress bar on a TTY;
* ``verify URL``: decode every stored chunk, list corrupt ones, exit 1 if any.

Exit codes: 0 success, 1 failure (error, corrupt chunks), 2 bad usage, 130 interrupted.
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
    grids = np.meshgrid(
        *(np.linspace(0, 6.0, s, dtype=np.float32) for s in shape[1:]), indexing="ij"
    )
    base = sum(np.sin(g * (i + 1)) for i, g in enumerate(grids)) if grids else np.float32(0)
    out = np.empty(shape, dtype=dtype)
    for i in range(shape[0]):
        plane = (base + np.float32(i / shape[0])) * 1000 + rng.normal(0, 8, shape[1:]).astype(
            np.float32
        )
        out[i] = (
            plane.astype(dtype)
            if np.dtype(dtype).kind == "f"
            else np.clip(plane + 30000, 0, 65535).astype(dtype)
        )
    return out


def cmd_bench(args: argparse.Namespace) -> int:
    import zarrfast as zf

    if args.store is None:
        args.store = default_store()
    itemsize = np.dtype(args.dtype).itemsize
    side = round((args.size_mb * 1024 * 1024 / itemsize) ** (1 / 3))
    side -= side % args.chunk
    shape = (side, side, side)
    workdir = args.path or tempfile.mkdtemp(prefix="zarrfast-bench-")
    path = f"{workdir.rstrip('/')}/bench.zarr"
    print(
        f"zarrfast bench: {args.dtype} array {shape} = "
        f"{np.prod(shape) * itemsize / 2**20:.0f} MiB, "
        f"chunks {args.chunk}^3, compressor {args.compressor}, store {args.store} at {path}, "
        f"{zf.config.num_threads} threads"
    )
    t0 = time.perf_counter()
    data = _make_data(shape, args.dtype)
    print(f"  generated data in {time.perf_counter() - t0:.2f} s")
    try:
        kwargs = (
            {"storage": args.store, "path": path}
            if args.store != "memory"
            else {"storage": "memory"}
        )
        arr = zf.create(
            shape=shape,
            chunks=(args.chunk,) * 3,
            dtype=args.dtype,
            compressor=None if args.compressor == "none" else args.compressor,
            overwrite=True,
            **kwargs,
        )
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
            print(
                f"  run {rep + 1}: write {tw:.3f} s ({nbytes / tw / 1e9:.2f} GB/s), "
                f"read {tr:.3f} s ({nbytes / tr / 1e9:.2f} GB/s)"
            )
            if not np.array_equal(back, data):
                print("  ERROR: data read back differs from data written", file=sys.stderr)
                return 1
        stored = arr.nbytes_stored
        print(
            f"  stored {stored / 2**20:.1f} MiB (ratio {nbytes / max(stored, 1):.2f}), "
            f"{arr.nchunks_initialized} chunks"
        )
        print(
            f"  best: write {nbytes / best_w / 1e9:.2f} GB/s, "
            f"read {nbytes / best_r / 1e9:.2f} GB/s; data verified"
        )
    finally:
        if not args.keep and args.path is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def default_store() -> str:
    """LMDB (embedded, one file, zero-copy reads) when installed, else the filesystem."""
    from zarrfast.errors import ZarrfastError
    from zarrfast.storage import get_backend

    try:
        get_backend("lmdb")
    except (ZarrfastError, ImportError):
        return "filesystem"
    return "lmdb"


def build_parser() -> argparse.ArgumentParser:
    from zarrfast import __version__
    from zarrfast.cli import commands as c

    parser = argparse.ArgumentParser(
        prog="zarrfast",
        description="Fast Zarr v2/v3 arrays: inspect, copy, verify, benchmark.",
        epilog="URLs: a directory path, or any URL zarrfast.open() accepts.",
    )
    parser.add_argument("--version", action="version", version=f"zarrfast {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser(
        "bench",
        help="write and read a real array and print throughput",
        description="Write and read a real array on an embedded store and print "
        "throughput (data is verified).",
    )
    b.add_argument("--size-mb", type=float, default=512, help="array size in MiB (default 512)")
    b.add_argument("--dtype", default="uint16")
    b.add_argument("--chunk", type=int, default=64, help="cubic chunk side (default 64)")
    b.add_argument("--compressor", default="zstd", help="zstd, blosc, zlib, gzip, lz4 or none")
    b.add_argument(
        "--store",
        default=None,
        help="storage backend (default: lmdb if installed, else filesystem)",
    )
    b.add_argument("--path", default=None, help="directory to write into (default: a temp dir)")
    b.add_argument("--repeat", type=int, default=3)
    b.add_argument("--keep", action="store_true", help="keep the array afterwards")
    b.set_defaults(func=cmd_bench)

    i = sub.add_parser(
        "info",
        help="describe an array or group",
        description="Format, shape, chunks, codecs, stored bytes, compression "
        "ratio and initialised chunks of an array (or a group's arrays).",
    )
    i.add_argument("url")
    i.add_argument("--json", action="store_true", help="machine-readable output")
    i.set_defaults(func=c.cmd_info)

    t = sub.add_parser(
        "tree", help="print the hierarchy", description="Print the group/array tree."
    )
    t.add_argument("url")
    t.add_argument("--max-depth", type=int, default=None)
    t.set_defaults(func=c.cmd_tree)

    cp = sub.add_parser(
        "copy",
        help="copy/convert/re-encode/rechunk an array or group",
        description="Copy SRC to DST, converting the format (--zarr-format), re-encoding "
        "(--codec) and rechunking (--chunks/--shards), streaming block by block "
        "under --max-memory.  Interrupted copies continue with --resume.",
    )
    cp.add_argument("src")
    cp.add_argument("dst")
    cp.add_argument(
        "--zarr-format",
        type=int,
        choices=(2, 3),
        default=None,
        help="output format (default: the source's)",
    )
    cp.add_argument(
        "--codec",
        default=None,
        help="compressor: zstd, blosc, zlib, gzip, lz4, bz2, none, or a JSON codec "
        "config/list (default: keep the source's)",
    )
    cp.add_argument("--chunks", default=None, help="chunk shape, e.g. 64,64,64 (default: source's)")
    cp.add_argument("--shards", default=None, help="shard shape (Zarr v3), e.g. 512,512,512")
    cp.add_argument(
        "--max-memory", default="512M", help="memory budget, e.g. 256M, 2G (default 512M)"
    )
    cp.add_argument("--resume", action="store_true", help="continue an interrupted copy")
    cp.add_argument("--overwrite", action="store_true", help="replace DST if it exists")
    g = cp.add_mutually_exclusive_group()
    g.add_argument("--progress", action="store_true", help="progress bar even when not a TTY")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    cp.set_defaults(func=c.cmd_copy)

    v = sub.add_parser(
        "verify",
        help="decode every chunk and report corrupt ones",
        description="Decode every stored chunk; print each corrupt one and exit 1 if there is any.",
    )
    v.add_argument("url")
    gv = v.add_mutually_exclusive_group()
    gv.add_argument("--progress", action="store_true", help="progress bar even when not a TTY")
    gv.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    v.set_defaults(func=c.cmd_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from zarrfast.cli.commands import UsageError
    from zarrfast.errors import ZarrfastError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as exc:
        parser.error(str(exc))  # exits 2 with the usage line
    except KeyboardInterrupt:
        print("zarrfast: interrupted", file=sys.stderr)
        return 130
    except (ZarrfastError, OSError, ValueError, KeyError) as exc:
        msg = str(exc) or type(exc).__name__
        if isinstance(exc, KeyError) and not isinstance(exc, ZarrfastError):
            msg = f"not found: {msg}"
        print(f"zarrfast: error: {msg}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
