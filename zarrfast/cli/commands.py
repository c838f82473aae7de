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


def _blocks(shape: tuple[int, ...], block: tuple[int, ...]) -> list[tuple[slice, ...]]:
    ranges = [range(0, s, b) if s else range(0) for s, b in zip(shape, block)]
    return (
        [
            tuple(slice(o, min(o + b, s)) for o, b, s in zip(origin, block, shape))
            for origin in itertools.product(*ranges)
        ]
        if shape
        else [()]
    )


def copy_block_shape(
    shape: tuple[int, ...],
    unit: tuple[int, ...],
    src_chunks: tuple[int, ...],
    itemsize: int,
    budget: int,
) -> tuple[int, ...]:
    """The largest block of whole destination write units that fits in ``budget``.

    A block costs its decoded size twice (the data read plus encode buffers) plus, for
    the source, the partial chunks it straddles; blocks grow along the last axes first.
    """
    block = list(unit)

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
            if cost(trial) > budget:
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
    blocks = _blocks(src.shape, block)
    marker = (f"{dst.path}/" if dst.path else "") + PROGRESS_KEY
    done: set[int] = set()
    raw = dst.store.get(marker)
    if raw is not None and args.resume:
        done = set(json.loads(bytes(raw))["done"])

    def nbytes(sl: tuple[slice, ...]) -> int:
        return int(math.prod(s.stop - s.start for s in sl) * src.dtype.itemsize)

    progress = Progress(
        len(blocks),
        sum(nbytes(b) for b in blocks),
        label=f"copy {src.name}",
        enabled=_progress_on(args),
    )
    progress.update(len(done), sum(nbytes(blocks[i]) for i in done))
    for i, sl in enumerate(blocks):
        if i in done:
            continue
        dst[sl] = src[sl]
        done.add(i)
        dst.store.set(marker, json.dumps({"done": sorted(done), "block": list(block)}).encode())
        progress.update(1, nbytes(sl))
    progress.close()
    dst.store.delete(marker)
    return len(blocks)


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
