"""The benchmark workloads of issue #3 (W1..W6), their data, and one adapter per implementation.

Everything the side-by-side runner (``compare.py``) and the pytest-benchmark suites share
lives here, so a workload is defined exactly once:

* :data:`SCALES` and :func:`current_scale`: ``full`` is the issue's sizes, ``medium``,
  ``small`` (quick runs) and ``tiny`` (the CI smoke run) shrink them
  (env ``ZARRFAST_BENCH_SCALE``).
* :func:`workloads` / :func:`select`: the :class:`Workload` definitions.
* :func:`make_data`: deterministic, compressible data (a smooth field plus noise),
  identical bytes for every implementation, cached per process.
* :func:`codecs_v3` / :func:`metadata_codecs_v3` / :func:`compressor_v2`: the one codec
  configuration every implementation writes.
* :func:`reference_store`: the stored objects every reader reads (written once).
* :func:`ceiling_read`: the same decode work done by the raw codec (or memcpy).
* :func:`make_impl`: adapters with the same operations for zarrfast, tensorstore,
  zarr-python (default and tuned) and zarr-python + zarrs.

Third-party packages are imported lazily so the zarrfast-only suites never need them.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from cloud import KEY_ID, LATENCY, REGION, SECRET, S3Loc

LATENCY_MS = LATENCY * 1000

# Benchmark the checkout this file lives in, even when zarrfast is not installed.
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(_REPO, "zarrfast")) and _REPO not in sys.path:
    sys.path.insert(0, _REPO)

__all__ = [
    "IMPLS",
    "PEERS",
    "SCALES",
    "Impl",
    "Workload",
    "ceiling_read",
    "chunk_payloads",
    "codecs_v3",
    "compressor_v2",
    "current_scale",
    "default_threads",
    "make_data",
    "make_impl",
    "metadata_codecs_v3",
    "oindex_values",
    "random_boxes",
    "random_oindex",
    "random_points",
    "random_vindex",
    "reference_store",
    "select",
    "workloads",
    "write_reference_dir",
]

# --------------------------------------------------------------------------- scales
#: cube: side of the W1/W2/W3/W5/W6 cube; chunk: its chunk side; shard/inner: W2's shard
#: and inner chunk sides; box: W5 box side; side/tile: W4's square array and chunk side;
#: nbox/npoint: W5 selection counts; nosel/nper: W5c oindex selections and indices per axis;
#: nvpoint: W5d vindex points (one selection).
SCALES: dict[str, dict[str, int]] = {
    "full": dict(
        cube=512,
        chunk=64,
        shard=256,
        inner=32,
        box=64,
        side=4096,
        tile=32,
        nbox=300,
        npoint=300,
        nosel=300,
        nper=64,
        nvpoint=10000,
    ),
    "medium": dict(
        cube=256,
        chunk=64,
        shard=128,
        inner=32,
        box=64,
        side=2048,
        tile=32,
        nbox=300,
        npoint=300,
        nosel=300,
        nper=64,
        nvpoint=10000,
    ),
    "small": dict(
        cube=128,
        chunk=64,
        shard=64,
        inner=32,
        box=64,
        side=1024,
        tile=32,
        nbox=100,
        npoint=300,
        nosel=30,
        nper=64,
        nvpoint=10000,
    ),
    "tiny": dict(
        cube=64,
        chunk=32,
        shard=32,
        inner=16,
        box=16,
        side=256,
        tile=32,
        nbox=10,
        npoint=20,
        nosel=5,
        nper=8,
        nvpoint=100,
    ),
}
SCALE_ENV = "ZARRFAST_BENCH_SCALE"


def current_scale(default: str = "small") -> str:
    """The scale named by ``$ZARRFAST_BENCH_SCALE`` (else ``default``), validated."""
    name = os.environ.get(SCALE_ENV, "").strip() or default
    if name not in SCALES:
        raise ValueError(f"expected ${SCALE_ENV} in {sorted(SCALES)}, got {name!r}")
    return name


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------- workloads
@dataclass(frozen=True)
class Workload:
    """One benchmark workload: the array layout plus what is timed on which stores.

    ``ops`` are among ``write`` (create + write all), ``read`` (read all), ``boxes``
    (``nbox`` random boxes), ``points`` (``npoint`` random single elements), ``oindex``
    (``nosel`` orthogonal selections of ``nper`` random indices per axis), ``oindex_set``
    (the same selections written, into a fresh copy of the stored array) and ``vindex``
    (one coordinate selection of ``nvpoint`` random points).
    ``layout`` names the workload whose stored array this one reads (W5 reads W1/W2's).
    """

    id: str
    title: str
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: str
    codec: str  # "zstd1" | "blosc-lz4" | "none" | "zlib1"
    zarr_format: int = 3
    shards: tuple[int, ...] | None = None
    stores: tuple[str, ...] = ("filesystem", "memory")
    ops: tuple[str, ...] = ("write", "read")
    layout: str = ""
    box: int = 0
    nbox: int = 0
    npoint: int = 0
    nosel: int = 0
    nper: int = 0
    nvpoint: int = 0
    scale: str = "small"
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def layout_key(self) -> tuple[Any, ...]:
        """Workloads with equal keys store identical bytes (the reference is shared)."""
        return (self.shape, self.chunks, self.shards, self.dtype, self.codec, self.zarr_format)

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * np.dtype(self.dtype).itemsize

    @property
    def grid_chunks(self) -> tuple[int, ...]:
        """The stored objects' shape: shards when sharded, else chunks."""
        return self.shards or self.chunks

    @property
    def nchunks(self) -> int:
        """Chunks (inner chunks when sharded): the unit of per-chunk overhead."""
        return math.prod(-(-s // c) for s, c in zip(self.shape, self.chunks))

    def describe(self) -> str:
        shards = f" in shards {_fmt_shape(self.shards)}" if self.shards else ""
        return (
            f"{self.dtype} {_fmt_shape(self.shape)} chunks {_fmt_shape(self.chunks)}{shards}, "
            f"{_CODEC_LABEL[self.codec]}, zarr v{self.zarr_format}"
        )


_CODEC_LABEL = {
    "zstd1": "zstd level 1",
    "blosc-lz4": "blosc lz4 shuffle clevel 5",
    "none": "uncompressed",
    "zlib1": "zlib level 1",
}


def _fmt_shape(shape: Sequence[int] | None) -> str:
    return "x".join(str(s) for s in shape or ())


def workloads(scale: str | None = None) -> list[Workload]:
    """Every workload at ``scale`` (default :func:`current_scale`), in the issue's order."""
    scale = scale or current_scale()
    p = SCALES[scale]
    cube, chunk = (p["cube"],) * 3, (p["chunk"],) * 3
    base = dict(shape=cube, chunks=chunk, dtype="uint16", scale=scale)
    w1 = Workload("W1", "write/read all, zstd 1", codec="zstd1", **base)  # type: ignore[arg-type]
    w2 = replace(
        w1,
        id="W2",
        title="write/read all, sharded, zstd 1 inside",
        chunks=(p["inner"],) * 3,
        shards=(p["shard"],) * 3,
    )
    square, tile = (p["side"],) * 2, (p["tile"],) * 2
    w5: dict[str, Any] = dict(
        ops=("boxes", "points"), box=p["box"], nbox=p["nbox"], npoint=p["npoint"]
    )
    w5c: dict[str, Any] = dict(ops=("oindex", "oindex_set"), nosel=p["nosel"], nper=p["nper"])
    w5d: dict[str, Any] = dict(ops=("vindex",), nvpoint=p["nvpoint"])
    w7 = replace(
        w1,
        id="W7",
        title=f"S3 (moto behind a {int(LATENCY_MS)} ms proxy): W1 write/read all, random boxes",
        stores=("s3",),
        ops=("write", "read", "boxes"),
        layout="W1",
        box=p["box"],
        nbox=p["nbox"],
    )
    return [
        w1,
        w2,
        replace(w1, id="W3-blosc", title="write/read all, blosc lz4 + shuffle", codec="blosc-lz4"),
        replace(w1, id="W3-raw", title="write/read all, uncompressed", codec="none"),
        Workload(
            "W4-mem",
            "per-chunk overhead, uncompressed, memory",
            square,
            tile,
            "float64",
            "none",
            stores=("memory",),
            scale=scale,
        ),
        Workload(
            "W4-fs",
            "per-chunk overhead, zstd 1, filesystem",
            square,
            tile,
            "float64",
            "zstd1",
            stores=("filesystem",),
            scale=scale,
        ),
        replace(w1, id="W5-W1", title="random box/point latency on W1", layout="W1", **w5),
        replace(w2, id="W5-W2", title="random box/point latency on W2", layout="W2", **w5),
        replace(w1, id="W5c-W1", title="orthogonal int-array selections on W1", layout="W1", **w5c),
        replace(w2, id="W5c-W2", title="orthogonal int-array selections on W2", layout="W2", **w5c),
        replace(w1, id="W5d-W1", title="random vindex points on W1", layout="W1", **w5d),
        replace(w2, id="W5d-W2", title="random vindex points on W2", layout="W2", **w5d),
        replace(
            w1,
            id="W6-blosc",
            title="v2 read all, blosc lz4 + shuffle",
            codec="blosc-lz4",
            zarr_format=2,
            ops=("read",),
        ),
        replace(
            w1,
            id="W6-zlib",
            title="v2 read all, zlib 1",
            codec="zlib1",
            zarr_format=2,
            ops=("read",),
        ),
        w7,
    ]


def select(names: str | Sequence[str] | None, scale: str | None = None) -> list[Workload]:
    """Workloads by id or id prefix (``"W3"`` selects W3-blosc and W3-raw); None = all."""
    every = workloads(scale)
    if not names:
        return every
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    out: list[Workload] = []
    for name in (n.strip() for n in names):
        hits = [w for w in every if w.id == name or w.id.split("-")[0] == name]
        if not hits:
            raise ValueError(f"unknown workload {name!r}; expected one of {[w.id for w in every]}")
        out.extend(w for w in hits if w not in out)
    return out


# --------------------------------------------------------------------------- data
_DATA_CACHE: dict[tuple[tuple[int, ...], str], np.ndarray] = {}


def make_data(wl: Workload) -> np.ndarray:
    """The workload's source array: a smooth field plus noise, deterministic (seed 0).

    Uses the generator of ``python -m zarrfast bench`` so the numbers compare with it.
    Cached per process (read-only), so every implementation gets the same bytes.
    """
    key = (wl.shape, wl.dtype)
    if key not in _DATA_CACHE:
        from zarrfast.__main__ import _make_data

        arr = _make_data(wl.shape, wl.dtype, seed=0)
        arr.flags.writeable = False
        _DATA_CACHE[key] = arr
    return _DATA_CACHE[key]


def random_boxes(wl: Workload, seed: int = 1) -> list[tuple[slice, ...]]:
    """``wl.nbox`` boxes of side ``wl.box`` at random (unaligned) origins."""
    rng = np.random.default_rng(seed)
    boxes = []
    for _ in range(wl.nbox):
        origin = [int(rng.integers(0, s - wl.box + 1)) for s in wl.shape]
        boxes.append(tuple(slice(o, o + wl.box) for o in origin))
    return boxes


def random_points(wl: Workload, seed: int = 2) -> list[tuple[int, ...]]:
    rng = np.random.default_rng(seed)
    return [tuple(int(rng.integers(0, s)) for s in wl.shape) for _ in range(wl.npoint)]


def random_oindex(wl: Workload, seed: int = 3) -> list[tuple[np.ndarray, ...]]:
    """``wl.nosel`` orthogonal selections: per axis ``wl.nper`` distinct random indices,
    in random order (what a user sampling a cube passes to ``oindex``)."""
    rng = np.random.default_rng(seed)
    return [
        tuple(rng.choice(s, size=min(wl.nper, s), replace=False) for s in wl.shape)
        for _ in range(wl.nosel)
    ]


def oindex_values(wl: Workload, sel: tuple[np.ndarray, ...], k: int) -> np.ndarray:
    """The values the ``k``-th ``oindex_set`` selection writes (deterministic)."""
    shape = tuple(len(s) for s in sel)
    return ((np.arange(math.prod(shape)) * 7 + k) % 1000).astype(wl.dtype).reshape(shape)


def random_vindex(wl: Workload, seed: int = 4) -> tuple[np.ndarray, ...]:
    """One coordinate selection of ``wl.nvpoint`` random points (an array per axis)."""
    rng = np.random.default_rng(seed)
    return tuple(rng.integers(0, s, size=wl.nvpoint) for s in wl.shape)


# --------------------------------------------------------------------------- codecs
BYTES_LE: dict[str, Any] = {"name": "bytes", "configuration": {"endian": "little"}}


def codecs_v3(wl: Workload) -> list[dict[str, Any]]:
    """The (inner) v3 codec chain: bytes little-endian + the workload's compressor."""
    itemsize = np.dtype(wl.dtype).itemsize
    comp: list[dict[str, Any]] = {
        "zstd1": [{"name": "zstd", "configuration": {"level": 1, "checksum": False}}],
        "blosc-lz4": [
            {
                "name": "blosc",
                "configuration": {
                    "cname": "lz4",
                    "clevel": 5,
                    "shuffle": "shuffle",
                    "typesize": itemsize,
                    "blocksize": 0,
                },
            }
        ],
        "none": [],
    }[wl.codec]
    return [BYTES_LE, *comp]


def metadata_codecs_v3(wl: Workload) -> list[dict[str, Any]]:
    """The v3 ``codecs`` metadata entry, wrapped in ``sharding_indexed`` when sharded."""
    inner = codecs_v3(wl)
    if not wl.shards:
        return inner
    return [
        {
            "name": "sharding_indexed",
            "configuration": {
                "chunk_shape": list(wl.chunks),
                "codecs": inner,
                "index_codecs": [BYTES_LE, {"name": "crc32c"}],
                "index_location": "end",
            },
        }
    ]


def compressor_v2(wl: Workload) -> dict[str, Any] | None:
    """The numcodecs compressor config of a v2 workload."""
    return {
        "blosc-lz4": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0},
        "zlib1": {"id": "zlib", "level": 1},
        "none": None,
        "zstd1": {"id": "zstd", "level": 1},
    }[wl.codec]


def _native_kind(wl: Workload) -> str | None:
    return {"zstd1": "zstd", "blosc-lz4": "blosc", "zlib1": "zlib", "none": None}[wl.codec]


# --------------------------------------------------------------------------- reference
_REF_CACHE: dict[tuple[Any, ...], dict[str, bytes]] = {}
_META_KEYS = ("zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata")


def reference_store(wl: Workload) -> dict[str, bytes]:
    """``{key: bytes}`` of the workload's array as zarrfast stores it (cached per layout).

    Every reader reads these same objects, so read timings compare decoders and
    pipelines on identical input; the ceiling decodes them too.
    """
    key = wl.layout_key
    if key not in _REF_CACHE:
        impl = ZarrfastImpl()
        arr = impl.write(wl, "memory", None, make_data(wl))
        st = arr.store
        keys = sorted(st.list_prefix(""))
        _REF_CACHE[key] = dict(zip(keys, (bytes(v) for v in st.get_many(keys))))
    return _REF_CACHE[key]


def write_reference_dir(ref: dict[str, bytes], path: str) -> str:
    """Write the reference objects as plain files under ``path`` (replaced if present)."""
    shutil.rmtree(path, ignore_errors=True)
    for k, v in ref.items():
        p = os.path.join(path, *k.split("/"))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(v)
    return path


def chunk_payloads(wl: Workload, ref: dict[str, bytes]) -> list[memoryview]:
    """Every encoded chunk in ``ref`` (inner chunks cut out of shards by their index)."""
    out: list[memoryview] = []
    per_shard = math.prod(s // c for s, c in zip(wl.shards, wl.chunks)) if wl.shards else 0
    for k, v in ref.items():
        if k.rsplit("/", 1)[-1] in _META_KEYS:
            continue
        view = memoryview(v)
        if not wl.shards:
            out.append(view)
            continue
        # index at the end: per_shard (offset, nbytes) uint64 pairs + a 4-byte crc32c
        index = np.frombuffer(view[len(v) - per_shard * 16 - 4 : len(v) - 4], dtype="<u8")
        for off, n in index.reshape(-1, 2):
            if off != np.uint64(2**64 - 1):
                out.append(view[int(off) : int(off) + int(n)])
    return out


#: warm-up runs and timed runs per ceiling_read call (the median is returned)
CEILING_WARMUP = 1
CEILING_REPS = 5


def ceiling_read(wl: Workload, ref: dict[str, bytes], threads: int) -> float:
    """Seconds for the raw codec work of a full read at ``threads`` threads.

    Every stored chunk (inner chunks cut out of shards) is decoded by the native codec
    straight into its own slot of one pre-faulted N-byte output, on the native thread
    pool at ``threads`` workers with one reused library context per worker and no
    per-chunk Python: the work no reader of these objects can avoid (no file I/O, no
    scatter into the array layout).  Uncompressed chunks are a plain copy of the stored
    bytes.  One warm-up run, then the median of ``CEILING_REPS`` timed runs, so one
    call is already stable on a noisy machine.
    """
    import statistics
    import time

    import zarrfast as zf
    from zarrfast._native import _codecs, _pipeline

    kind = _native_kind(wl)
    code = None if kind is None else _codecs.KINDS[kind]
    payloads = chunk_payloads(wl, ref)
    size = math.prod(wl.chunks) * np.dtype(wl.dtype).itemsize
    out = np.empty(len(payloads) * size, dtype=np.uint8)
    out.fill(0)  # pre-fault: page faults are not codec work
    times = []
    with zf.set_config(num_threads=threads):
        for rep in range(CEILING_WARMUP + CEILING_REPS):
            t0 = time.perf_counter()
            _pipeline.decode_raw_into(code, (), payloads, out, size)
            if rep >= CEILING_WARMUP:
                times.append(time.perf_counter() - t0)
    return statistics.median(times)


# --------------------------------------------------------------------------- adapters
class Impl:
    """Same operations for every implementation.

    ``loc`` is a directory for ``store == "filesystem"``; for ``"memory"`` it is a
    ``{key: bytes}`` mapping to start from (reads) or None (writes: a fresh store); for
    ``"s3"`` it is a :class:`cloud.S3Loc` (endpoint, bucket, prefix).
    """

    name = ""
    peer = True
    #: The store kinds this implementation runs on.
    stores: tuple[str, ...] = ("filesystem", "memory", "s3")

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads or default_threads()

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Configuration in force while this implementation runs (zarr-python's config)."""
        yield

    def write(self, wl: Workload, store: str, loc: Any, data: np.ndarray) -> Any:
        """Create the array (replacing any) and write all of ``data``; returns a handle."""
        raise NotImplementedError

    def open(self, wl: Workload, store: str, loc: Any) -> Any:
        """Open the stored array read-only; the handle goes to the read methods."""
        raise NotImplementedError

    def read_all(self, h: Any) -> np.ndarray:
        return np.asarray(h[...])

    def read_box(self, h: Any, box: tuple[slice, ...]) -> np.ndarray:
        return np.asarray(h[box])

    def read_point(self, h: Any, idx: tuple[int, ...]) -> Any:
        return h[idx]

    def read_oindex(self, h: Any, sel: tuple[np.ndarray, ...]) -> np.ndarray:
        with self.active():
            return np.asarray(h.oindex[sel])

    def read_vindex(self, h: Any, coords: tuple[np.ndarray, ...]) -> np.ndarray:
        with self.active():
            return np.asarray(h.vindex[coords])

    def open_rw(self, wl: Workload, store: str, loc: Any) -> Any:
        """Open the stored array for writing (``loc``: a copy this run may change)."""
        raise NotImplementedError

    def write_oindex(self, h: Any, sel: tuple[np.ndarray, ...], values: np.ndarray) -> None:
        with self.active():
            h.oindex[sel] = values

    def versions(self) -> str:
        return ""


class ZarrfastImpl(Impl):
    name = "zarrfast"
    peer = False

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        import zarrfast as zf

        with zf.set_config(num_threads=self.threads):
            yield

    def write(self, wl: Workload, store: str, loc: Any, data: np.ndarray) -> Any:
        import zarrfast as zf

        where: dict[str, Any]
        if store == "filesystem":
            where = {"storage": "filesystem", "path": loc}
        elif store == "s3":
            where = {"store": self._s3(loc)}
        else:
            where = {"storage": "memory"}
        with self.active():
            if wl.zarr_format == 2:
                arr = zf.create(
                    wl.shape,
                    chunks=wl.chunks,
                    dtype=wl.dtype,
                    zarr_format=2,
                    compressor=compressor_v2(wl),
                    fill_value=0,
                    overwrite=True,
                    **where,
                )
            else:
                arr = zf.create(
                    wl.shape,
                    chunks=wl.chunks,
                    dtype=wl.dtype,
                    codecs=codecs_v3(wl),
                    shards=wl.shards,
                    fill_value=0,
                    overwrite=True,
                    **where,
                )
            arr[...] = data
        return arr

    def open(self, wl: Workload, store: str, loc: Any) -> Any:
        import zarrfast as zf

        if store == "filesystem":
            return zf.open_array(storage="filesystem", path=loc, mode="r")
        if store == "s3":
            return zf.open_array(store=self._s3(loc, read_only=True), mode="r")
        from zarrfast.storage.memory import MemoryStore

        return zf.open_array(store=MemoryStore(loc), mode="r")

    def open_rw(self, wl: Workload, store: str, loc: Any) -> Any:
        import zarrfast as zf

        if store == "filesystem":
            return zf.open_array(storage="filesystem", path=loc, mode="r+")
        if store == "s3":
            return zf.open_array(store=self._s3(loc), mode="r+")
        from zarrfast.storage.memory import MemoryStore

        return zf.open_array(store=MemoryStore(loc), mode="r+")

    @staticmethod
    def _s3(loc: S3Loc, read_only: bool = False) -> Any:
        from zarrfast.storage.s3 import S3Store

        return S3Store(
            loc.bucket, prefix=loc.prefix, endpoint_url=loc.endpoint, read_only=read_only
        )

    def read_all(self, h: Any) -> np.ndarray:
        with self.active():
            return h[...]  # type: ignore[no-any-return]

    def read_box(self, h: Any, box: tuple[slice, ...]) -> np.ndarray:
        with self.active():
            return h[box]  # type: ignore[no-any-return]

    def read_point(self, h: Any, idx: tuple[int, ...]) -> Any:
        with self.active():
            return h[idx]

    def versions(self) -> str:
        import zarrfast as zf

        return zf.__version__


class TensorstoreImpl(Impl):
    """tensorstore with ``data_copy_concurrency`` = threads and no cache (cache_pool 0)."""

    name = "tensorstore"

    def _context(self) -> Any:
        import tensorstore as ts

        return ts.Context(
            {
                "data_copy_concurrency": {"limit": self.threads},
                "cache_pool": {"total_bytes_limit": 0},
            }
        )

    @staticmethod
    def _kvstore(store: str, loc: Any) -> dict[str, Any]:
        if store == "filesystem":
            return {"driver": "file", "path": loc}
        if store == "s3":
            # credentials from $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY (cloud.py sets them)
            return {
                "driver": "s3",
                "bucket": loc.bucket,
                "path": loc.prefix + "/",
                "endpoint": loc.endpoint,
                "aws_region": REGION,
            }
        return {"driver": "memory"}

    def _spec(self, wl: Workload, store: str, loc: Any) -> dict[str, Any]:
        kv = self._kvstore(store, loc)
        if wl.zarr_format == 2:
            meta: dict[str, Any] = {
                "shape": list(wl.shape),
                "chunks": list(wl.chunks),
                "dtype": np.dtype(wl.dtype).newbyteorder("<").str,
                "compressor": compressor_v2(wl),
                "filters": None,
                "order": "C",
                "fill_value": 0,
                "dimension_separator": ".",
            }
            return {"driver": "zarr", "kvstore": kv, "metadata": meta}
        meta = {
            "shape": list(wl.shape),
            "data_type": wl.dtype,
            "chunk_grid": {
                "name": "regular",
                "configuration": {"chunk_shape": list(wl.grid_chunks)},
            },
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": 0,
            "codecs": metadata_codecs_v3(wl),
        }
        return {"driver": "zarr3", "kvstore": kv, "metadata": meta}

    def write(self, wl: Workload, store: str, loc: Any, data: np.ndarray) -> Any:
        import tensorstore as ts

        if store == "filesystem":
            shutil.rmtree(loc, ignore_errors=True)
        arr = ts.open(
            self._spec(wl, store, loc), create=True, open=False, context=self._context()
        ).result()
        arr.write(data).result()
        return arr

    def open(self, wl: Workload, store: str, loc: Any, write: bool = False) -> Any:
        import tensorstore as ts

        ctx = self._context()
        if store != "memory":
            kv: Any = self._kvstore(store, loc)
        else:
            # The memory kvstore is a context resource: fill it, then open on that context.
            kv = {"driver": "memory"}
            mem = ts.KvStore.open(kv, context=ctx).result()
            for f in [mem.write(k, v) for k, v in loc.items()]:
                f.result()
        driver = "zarr3" if wl.zarr_format == 3 else "zarr"
        return ts.open(
            {"driver": driver, "kvstore": kv}, open=True, read=True, write=write, context=ctx
        ).result()

    def open_rw(self, wl: Workload, store: str, loc: Any) -> Any:
        return self.open(wl, store, loc, write=True)

    def write_oindex(self, h: Any, sel: tuple[np.ndarray, ...], values: np.ndarray) -> None:
        h.oindex[sel].write(values).result()

    def read_all(self, h: Any) -> np.ndarray:
        return h.read().result()  # type: ignore[no-any-return]

    def read_box(self, h: Any, box: tuple[slice, ...]) -> np.ndarray:
        return h[box].read().result()  # type: ignore[no-any-return]

    def read_point(self, h: Any, idx: tuple[int, ...]) -> Any:
        return h[idx].read().result()

    def read_oindex(self, h: Any, sel: tuple[np.ndarray, ...]) -> np.ndarray:
        return h.oindex[sel].read().result()  # type: ignore[no-any-return]

    def read_vindex(self, h: Any, coords: tuple[np.ndarray, ...]) -> np.ndarray:
        return h.vindex[coords].read().result()  # type: ignore[no-any-return]

    def versions(self) -> str:
        from importlib.metadata import version

        return version("tensorstore")


# zarr-python creates its thread pool once per process; switching implementations that
# want different pool sizes swaps the pool on zarr's event loop.
_ZARR_POOL_WORKERS: list[Any] = ["unset"]


def _zarr_use_pool(max_workers: int | None) -> None:
    if _ZARR_POOL_WORKERS[0] == max_workers:
        return
    import zarr.core.sync as zsync

    old = zsync._executor
    pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="zarr_pool")
    zsync._executor = pool
    zsync._get_loop().set_default_executor(pool)
    if old is not None:
        old.shutdown(wait=False)
    _ZARR_POOL_WORKERS[0] = max_workers


class ZarrImpl(Impl):
    """zarr-python 3 with its default configuration (async.concurrency 10, default pool)."""

    name = "zarr"
    #: zarr.config overrides; ``threading.max_workers`` also sizes the swapped-in pool.
    settings: dict[str, Any] = {}

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        import zarr

        with zarr.config.set(self.config()):
            _zarr_use_pool(zarr.config.get("threading.max_workers", None))
            yield

    def config(self) -> dict[str, Any]:
        return dict(self.settings)

    def _store(self, store: str, loc: Any, read_only: bool) -> Any:
        import zarr.storage

        if store == "filesystem":
            return zarr.storage.LocalStore(loc, read_only=read_only)
        if store == "s3":
            return self._s3(loc, read_only)
        from zarr.core.buffer import default_buffer_prototype

        proto = default_buffer_prototype()
        data = {k: proto.buffer.from_bytes(v) for k, v in (loc or {}).items()}
        return zarr.storage.MemoryStore(data, read_only=read_only)

    def _s3(self, loc: S3Loc, read_only: bool) -> Any:
        """zarr-python's usual S3 path: fsspec's s3fs."""
        import zarr.storage

        opts = {
            "endpoint_url": loc.endpoint,
            "key": KEY_ID,
            "secret": SECRET,
            "client_kwargs": {"region_name": REGION},
        }
        return zarr.storage.FsspecStore.from_url(
            loc.url(), storage_options=opts, read_only=read_only
        )

    def write(self, wl: Workload, store: str, loc: Any, data: np.ndarray) -> Any:
        import zarr

        with self.active():
            st = self._store(store, loc, read_only=False)
            if wl.zarr_format == 2:
                comp = compressor_v2(wl)
                arr = zarr.create_array(
                    st,
                    shape=wl.shape,
                    chunks=wl.chunks,
                    dtype=wl.dtype,
                    compressors=comp,
                    filters=None,
                    fill_value=0,
                    zarr_format=2,
                    overwrite=True,
                )
            else:
                inner = codecs_v3(wl)
                arr = zarr.create_array(
                    st,
                    shape=wl.shape,
                    chunks=wl.chunks,
                    shards=wl.shards,
                    dtype=wl.dtype,
                    serializer=inner[0],
                    compressors=inner[1:] or None,
                    filters=None,
                    fill_value=0,
                    zarr_format=3,
                    overwrite=True,
                )
            arr[...] = data
        return arr

    def open(self, wl: Workload, store: str, loc: Any) -> Any:
        import zarr

        with self.active():
            return zarr.open_array(
                self._store(store, loc, read_only=True), mode="r", zarr_format=wl.zarr_format
            )  # type: ignore[arg-type]

    def open_rw(self, wl: Workload, store: str, loc: Any) -> Any:
        import zarr

        with self.active():
            return zarr.open_array(
                self._store(store, loc, read_only=False), mode="r+", zarr_format=wl.zarr_format
            )  # type: ignore[arg-type]

    def read_all(self, h: Any) -> np.ndarray:
        with self.active():
            return h[...]  # type: ignore[no-any-return]

    def read_box(self, h: Any, box: tuple[slice, ...]) -> np.ndarray:
        with self.active():
            return h[box]  # type: ignore[no-any-return]

    def read_point(self, h: Any, idx: tuple[int, ...]) -> Any:
        with self.active():
            return h[idx]

    def versions(self) -> str:
        import zarr

        return zarr.__version__


#: zarr-python settings picked by a sweep on the 2-core bench machine (bench/README.md):
#: async.concurrency in {4, 10, 32, 128} x threading.max_workers in {default, 1, 2, 4}.
#: ``threading.max_workers`` follows ``--threads``.
ZARR_TUNED: dict[str, Any] = {"async.concurrency": 32, "threading.max_workers": 2}


class ZarrTunedImpl(ZarrImpl):
    """zarr-python with concurrency tuned for this machine (:data:`ZARR_TUNED`)."""

    name = "zarr-tuned"

    def config(self) -> dict[str, Any]:
        cfg = dict(ZARR_TUNED)
        cfg["threading.max_workers"] = self.threads
        return cfg


class ZarrsImpl(ZarrImpl):
    """zarr-python with the zarrs (Rust) codec pipeline, ``threading.max_workers`` = threads."""

    name = "zarrs"

    def config(self) -> dict[str, Any]:
        return {
            "codec_pipeline.path": "zarrs.ZarrsCodecPipeline",
            "threading.max_workers": self.threads,
        }

    def versions(self) -> str:
        from importlib.metadata import version

        return f"zarrs-python {version('zarrs')} on zarr {super().versions()}"


class ZarrObstoreImpl(ZarrImpl):
    """zarr-python (default configuration) on obstore's Rust S3 client (W7 only)."""

    name = "zarr-obstore"
    stores = ("s3",)

    def _s3(self, loc: S3Loc, read_only: bool) -> Any:
        import zarr.storage
        from obstore.store import S3Store

        client = S3Store(
            loc.bucket,
            prefix=loc.prefix,
            endpoint=loc.endpoint,
            access_key_id=KEY_ID,
            secret_access_key=SECRET,
            region=REGION,
            client_options={"allow_http": True},
        )
        return zarr.storage.ObjectStore(client, read_only=read_only)

    def versions(self) -> str:
        from importlib.metadata import version

        return f"obstore {version('obstore')} on zarr {super().versions()}"


IMPLS: dict[str, Callable[[int | None], Impl]] = {
    "zarrfast": ZarrfastImpl,
    "tensorstore": TensorstoreImpl,
    "zarr": ZarrImpl,
    "zarr-tuned": ZarrTunedImpl,
    "zarrs": ZarrsImpl,
    "zarr-obstore": ZarrObstoreImpl,
}
PEERS = tuple(n for n in IMPLS if n != "zarrfast")


def make_impl(name: str, threads: int | None = None) -> Impl:
    try:
        return IMPLS[name](threads)
    except KeyError:
        known = list(IMPLS)
        raise ValueError(f"unknown implementation {name!r}; expected one of {known}") from None
