"""The ``zarrfast`` subcommands other than bench: info, tree, copy, verify."""

from __future__ import annotations

import argparse
import itertools
import json
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from zarrfast.cli.progress import Progress, human_bytes, parse_bytes

PROGRESS_KEY = ".zarrfast-copy.json"


def _open(url: str, mode: str = "r") -> Any:
    import zarrfast as zf

    return zf.open(url, mode=mode)


def _arrays(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    from zarrfast.core.array import Array

    if isinstance(node, Array):
        yield prefix, node
        return
    for name, member in node.members(max_depth=None):
        if isinstance(member, Array):
            yield name, member


# --------------------------------------------------------------------------- info / tree
def array_summary(arr: Any) -> dict[str, Any]:
    from zarrfast.codecs.registry import codec_to_json

    stored = arr.nbytes_stored
    fmt = arr.zarr_format
    codecs: list[dict[str, Any] | str] = []
    for c in arr.codecs:
        try:
            codecs.append(codec_to_json(c, fmt))
        except Exception:
            codecs.append(repr(c))
    return {
        "path": arr.name,
        "zarr_format": fmt,
        "shape": list(arr.shape),
        "dtype": str(arr.dtype) if arr.dtype.kind != "O" else str(arr.metadata.data_type.vlen),
        "chunks": list(arr.chunks),
        "shards": list(arr.shards) if arr.shards else None,
        "codecs": codecs,
        "nbytes": arr.nbytes,
        "nbytes_stored": stored,
        "compression_ratio": round(arr.nbytes / stored, 3) if stored else None,
        "chunks_initialized": arr.nchunks_initialized,
        "nchunks": arr.nchunks,
        "fill_value": arr.fill_value if np.isscalar(arr.fill_value) else str(arr.fill_value),
        "engine": "native" if arr.engine.native else "python",
        "engine_reason": arr.engine.reason,
    }


def cmd_info(args: argparse.Namespace) -> int:
    from zarrfast.core.array import Array

    node = _open(args.url)
    if isinstance(node, Array):
        info = array_summary(node)
        if args.json:
            print(json.dumps(info, default=str, indent=2))
            return 0
        rows = [
            ("Type", "array"),
            ("Zarr format", info["zarr_format"]),
            ("Data type", info["dtype"]),
            ("Shape", tuple(info["shape"])),
            ("Chunk shape", tuple(info["chunks"])),
            ("Shard shape", tuple(info["shards"]) if info["shards"] else "-"),
            ("Codecs", json.dumps(info["codecs"], default=str)),
            ("Fill value", info["fill_value"]),
            ("Bytes (decoded)", f"{info['nbytes']} ({human_bytes(info['nbytes'])})"),
            ("Bytes stored", f"{info['nbytes_stored']} ({human_bytes(info['nbytes_stored'])})"),
            ("Compression ratio", info["compression_ratio"] or "-"),
            ("Chunks initialized", f"{info['chunks_initialized']}/{info['nchunks']}"),
            ("Engine", node.engine.describe()),
        ]
    else:
        arrays = list(_arrays(node))
        if args.json:
            print(
                json.dumps(
                    {
                        "type": "group",
                        "zarr_format": node.zarr_format,
                        "arrays": [array_summary(a) for _, a in arrays],
                    },
                    default=str,
                    indent=2,
                )
            )
            return 0
        rows = [
            ("Type", "group"),
            ("Zarr format", node.zarr_format),
            ("Arrays", len(arrays)),
            ("Groups", sum(1 for _ in node.groups())),
            ("Attributes", json.dumps(node.attrs.asdict(), default=str)),
        ]
    w = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{w}} : {v}")
    return 0


def cmd_tree(args: argparse.Namespace) -> int:
    from zarrfast.core.array import Array

    node = _open(args.url)

    def label(name: str, n: Any) -> str:
        if isinstance(n, Array):
            return (
                f"{name} {n.shape} {n.dtype if n.dtype.kind != 'O' else n.metadata.data_type.vlen}"
            )
        return f"{name}/"

    print(label(node.name, node) if isinstance(node, Array) or node.name != "/" else "/")
    if isinstance(node, Array):
        return 0

    def walk(g: Any, indent: str, depth: int) -> None:
        if args.max_depth is not None and depth > args.max_depth:
            return
        names = list(g.keys())
        for i, name in enumerate(names):
            last = i == len(names) - 1
            child = g[name]
            print(f"{indent}{'└── ' if last else '├── '}{label(name, child)}")
            if not isinstance(child, Array):
                walk(child, indent + ("    " if last else "│   "), depth + 1)

    walk(node, "", 1)
    return 0


# --------------------------------------------------------------------------- verify
def _stored_coords(arr: Any) -> list[tuple[int, ...]]:
    enc = arr.metadata.chunk_key_encoding
    prefix = f"{arr.path}/" if arr.path else ""
    out = []
    for key in arr.store.list_prefix(prefix):
        c = enc.decode(key[len(prefix) :], arr.ndim)
        if c is not None and all(ci < g for ci, g in zip(c, arr.cdata_shape)):
            out.append(c)
    return sorted(out)


def cmd_verify(args: argparse.Namespace) -> int:
    import zarrfast as zf
    from zarrfast.errors import ZarrfastError

    node = _open(args.url)
    bad: list[tuple[str, str]] = []
    total = 0
    for _name, arr in _arrays(node):
        coords = _stored_coords(arr)
        total += len(coords)
        unit = arr.chunks_for_io
        prefix = f"{arr.path}/" if arr.path else ""

        def check(
            c: tuple[int, ...], arr: Any = arr, unit: Any = unit, prefix: str = prefix
        ) -> tuple[str, str] | None:
            sel = tuple(slice(ci * u, min((ci + 1) * u, s)) for ci, u, s in zip(c, unit, arr.shape))
            try:
                arr[sel]
            except (ZarrfastError, ValueError, OSError) as exc:
                return prefix + arr.metadata.chunk_key(c), f"{type(exc).__name__}: {exc}"
            return None

        progress = Progress(len(coords), 0, label=f"verify {arr.name}", enabled=_progress_on(args))
        with ThreadPoolExecutor(max(1, zf.config.num_threads)) as pool:
            for res in pool.map(check, coords):
                progress.update(1, 0)
                if res is not None:
                    bad.append(res)
        progress.close()
    for key, why in bad:
        print(f"CORRUPT {key}: {why}")
    print(f"verified {total} chunks: {total - len(bad)} ok, {len(bad)} corrupt")
    return 1 if bad else 0


# --------------------------------------------------------------------------- copy
def _parse_shape(text: str | None, ndim: int, what: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        vals = tuple(int(v) for v in text.replace("x", ",").split(",") if v.strip())
    except ValueError:
        raise UsageError(f"--{what}: expected comma-separated integers, got {text!r}") from None
    if len(vals) == 1 and ndim > 1:
        vals = vals * ndim
    if len(vals) != ndim or any(v <= 0 for v in vals):
        raise UsageError(f"--{what}: expected {ndim} positive integers, got {text!r}")
    return vals


def _parse_codec(text: str | None) -> Any:
    if text is None:
        return "keep"
    if text.lower() == "none":
        return None
    if text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--codec: invalid JSON: {exc}") from None
    return text


class UsageError(Exception):
    """Bad command-line arguments (exit code 2)."""


def _progress_on(args: argparse.Namespace) -> bool | None:
    if getattr(args, "quiet", False):
        return False
    return True if getattr(args, "progress", False) else None


def copy_block_shape(
    shape: tuple[int, ...],
    unit: tuple[int, ...],
    src_chunks: tuple[int, ...],
    itemsize: int,
    budget: int,
    max_chunks: int = 1 << 14,
) -> tuple[int, ...]:
    """The largest block of whole destination write units that fits in ``budget``.

    A block costs its decoded size twice (the data read plus encode buffers) plus, for
    the source, the partial chunks it straddles; blocks grow along the last axes first.
    A block also spans at most ``max_chunks`` source chunks (beyond one write unit):
    with tiny chunks the per-chunk work, not the bytes, is what a block costs, and a
    sparse array is copied block by block where something is stored.
    """
    block = list(unit)

    def nchunks(b: list[int]) -> int:
        return math.prod(
            min(math.ceil(x / c) + 1, math.ceil(s / c)) for x, c, s in zip(b, src_chunks, shape)
        )

    def cost(b: list[int]) -> int:
        padded = [min(math.ceil(x / c) * c + c, s + c) for x, c, s in zip(b, src_chunks, shape)]
        return (2 * math.prod(b) + math.prod(padded)) * max(itemsize, 8 if itemsize == 0 else 1)

    if cost(block) > budget:
        raise UsageError(
            f"--max-memory {human_bytes(budget)} is below one destination write unit "
            f"{tuple(unit)} (needs about {human_bytes(cost(block))})"
        )
    for axis in reversed(range(len(block))):
        while block[axis] < shape[axis]:
            trial = list(block)
            trial[axis] = min(
                block[axis] + unit[axis], math.ceil(shape[axis] / unit[axis]) * unit[axis]
            )
            if cost(trial) > budget or nchunks(trial) > max_chunks:
                return tuple(block)
            block = trial
    return tuple(block)


def _copy_array(src: Any, dst_url: str, dst_path: str, args: argparse.Namespace) -> int:
    import zarrfast as zf
    from zarrfast.codecs.registry import codec_to_json

    fmt = args.zarr_format or src.zarr_format
    chunks = _parse_shape(args.chunks, src.ndim, "chunks") or src.chunks
    shards = _parse_shape(args.shards, src.ndim, "shards")
    if shards is None and args.shards is None and src.shards and fmt == 3 and args.chunks is None:
        shards = src.shards
    if shards is not None and fmt == 2:
        raise UsageError("--shards needs --zarr-format 3 (Zarr v2 has no sharding)")
    codec = _parse_codec(args.codec)
    kwargs: dict[str, Any] = {}
    if codec == "keep":
        comps = src.compressors
        if comps:
            kwargs["compressor"] = (
                [codec_to_json(c, fmt) for c in comps] if fmt == 3 else codec_to_json(comps[-1], 2)
            )
        else:
            kwargs["compressor"] = None
    else:
        kwargs["compressor"] = codec
    dtype = (
        src.dtype
        if src.dtype.kind != "O"
        else (str if src.metadata.data_type.vlen == "string" else bytes)
    )
    if fmt == 3 and src.dtype.kind != "O" and src.dtype.byteorder == ">":
        dtype = src.dtype.newbyteorder("<")
    fill = src.fill_value
    try:
        dst = zf.open_array(dst_url, path=dst_path or None, mode="r+") if args.resume else None
    except (FileNotFoundError, KeyError):
        dst = None
    store_path_kw: dict[str, Any] = {"path": dst_path} if dst_path else {}
    if dst is None:
        dst = zf.create(
            shape=src.shape,
            chunks=chunks,
            dtype=dtype,
            shards=shards,
            zarr_format=fmt,
            fill_value=fill,
            attributes=src.attrs.asdict(),
            store=dst_url,
            overwrite=args.overwrite,
            dimension_names=src.dimension_names if fmt == 3 else None,
            **kwargs,
            **store_path_kw,
        )
    elif dst.shape != src.shape:
        raise UsageError(f"cannot resume: destination shape {dst.shape} != source {src.shape}")
    unit = dst.shards or dst.chunks
    budget = parse_bytes(args.max_memory)
    block = copy_block_shape(src.shape, unit, src.chunks, src.dtype.itemsize, budget)
    marker = (f"{dst.path}/" if dst.path else "") + PROGRESS_KEY
    raw = dst.store.get(marker) if args.resume else None
    done_through, done_set = _resume_state(raw, block, src.shape)
    blocks = _blocks_to_copy(src, dst, block)

    def nbytes(sl: tuple[slice, ...]) -> int:
        return int(math.prod(s.stop - s.start for s in sl) * src.dtype.itemsize)

    def is_done(b: tuple[int, ...]) -> bool:
        return (done_through is not None and b < done_through) or b in done_set

    progress = Progress(
        len(blocks),
        sum(nbytes(_block_slices(b, block, src.shape)) for b in blocks),
        label=f"copy {src.name}",
        enabled=_progress_on(args),
    )
    already = [b for b in blocks if is_done(b)]
    progress.update(len(already), sum(nbytes(_block_slices(b, block, src.shape)) for b in already))
    for b in blocks:
        if is_done(b):
            continue
        sl = _block_slices(b, block, src.shape)
        dst[sl] = src[sl]
        # blocks go in ascending order, so one coordinate says what is done: the
        # marker stays a few bytes however many blocks there are
        dst.store.set(marker, json.dumps({"done_through": list(b), "block": list(block)}).encode())
        progress.update(1, nbytes(sl))
    progress.close()
    dst.store.delete(marker)
    return len(blocks)


def _block_slices(
    b: tuple[int, ...], block: tuple[int, ...], shape: tuple[int, ...]
) -> tuple[slice, ...]:
    return tuple(slice(i * n, min((i + 1) * n, s)) for i, n, s in zip(b, block, shape))


def _blocks_to_copy(src: Any, dst: Any, block: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The copy blocks (grid coordinates, ascending) that can hold anything but fill.

    A block none of whose source or destination chunks is stored reads as fill on both
    sides (the destination is created with the source's fill value), so copying it is a
    no-op: enumerating only the blocks that touch stored objects keeps copying a sparse
    array of 10**12 chunks proportional to what is stored.  The destination's stored
    chunks count too, so a resumed or reused destination never keeps stale data.
    """
    if not src.shape:
        return [()]
    if any(s == 0 for s in src.shape):
        return []
    if not _same_fill(src, dst):
        # unstored blocks differ between the two: every block must be written
        grid = [range(-(-s // n)) for s, n in zip(src.shape, block)]
        return list(itertools.product(*grid))
    out: set[tuple[int, ...]] = set()
    for arr in (src, dst):
        extent = arr.shards or arr.chunks
        for coords in arr.stored_chunk_coords():
            lo = [c * e for c, e in zip(coords, extent)]
            hi = [min((c + 1) * e, s) - 1 for c, e, s in zip(coords, extent, src.shape)]
            ranges = [range(a // n, b // n + 1) for a, b, n in zip(lo, hi, block)]
            out.update(itertools.product(*ranges))
    return sorted(out)


def _same_fill(src: Any, dst: Any) -> bool:
    if src.dtype != dst.dtype and src.dtype.kind != "O":
        try:
            a = np.asarray(src.fill_value, dtype=dst.dtype)
        except (TypeError, ValueError):
            return False
    else:
        a = np.asarray(src.fill_value, dtype=src.dtype if src.dtype.kind != "O" else object)
    b = np.asarray(dst.fill_value, dtype=a.dtype)
    if a.dtype.kind == "O":
        return bool(a == b)
    return a.tobytes() == b.tobytes()


def _resume_state(
    raw: Any, block: tuple[int, ...], shape: tuple[int, ...]
) -> tuple[tuple[int, ...] | None, set[tuple[int, ...]]]:
    """(every block up to this coordinate is done, explicitly done blocks) from a marker."""
    if raw is None:
        return None, set()
    try:
        state = json.loads(bytes(raw))
    except ValueError:
        return None, set()  # a torn marker: copying again is always safe
    if not isinstance(state, dict) or state.get("block") != list(block):
        return None, set()  # another block shape: its coordinates mean other blocks
    if "done_through" in state:
        return (*(int(i) for i in state["done_through"]), 1), set()
    # the earlier format: flat indices into the dense C-order list of blocks
    grid = tuple(-(-s // n) for s, n in zip(shape, block))
    done = set()
    for i in state.get("done", []):
        done.add(tuple(int(c) for c in np.unravel_index(int(i), grid)) if grid else ())
    return None, done


def cmd_copy(args: argparse.Namespace) -> int:
    from zarrfast.core.array import Array

    src = _open(args.src)
    if isinstance(src, Array):
        _copy_array(src, args.dst, "", args)
        return 0
    import zarrfast as zf

    fmt = args.zarr_format or src.zarr_format
    root = zf.open_group(
        args.dst,
        mode="a" if args.resume else ("w" if args.overwrite else "w-"),
        zarr_format=fmt,
        attributes=src.attrs.asdict(),
    )
    for name, member in src.members(max_depth=None):
        if not isinstance(member, Array):
            root.require_group(name)
    for name, arr in _arrays(src):
        _copy_array(arr, args.dst, name, args)
    return 0
