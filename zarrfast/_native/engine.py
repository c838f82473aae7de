"""Choose the native batch engine for an array when its whole codec chain runs in C.

:func:`maybe_engine` is what :func:`zarrfast.core.pipeline.select_engine` calls.  It never
raises for an unsupported array or a missing extension: it returns ``None`` and the
Python engine is used.  Codecs are recognised by duck typing (``name``, ``native_spec``)
so this module imports nothing from ``zarrfast.core`` or ``zarrfast.codecs``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = ["build_plan", "maybe_engine"]

# dtype kinds whose items may be byte-swapped unit by unit (complex: each half)
_SWAPPABLE = set("biufmM")


def _perm_from_transposes(aa: tuple[Any, ...], ndim: int) -> list[int] | None:
    """Logical dim feeding each stored (encoded) axis, or None if an AA codec is not a
    transpose."""
    perm = list(range(ndim))
    for c in aa:
        if getattr(c, "name", None) != "transpose":
            return None
        order = tuple(getattr(c, "order", ()))
        if sorted(order) != list(range(ndim)):
            return None
        perm = [perm[i] for i in order]
    return perm


def build_plan(metadata: Any, kinds: dict[str, int]) -> dict[str, Any] | None:
    """The native layout of ``metadata``'s chunks, or None if it is not all native.

    Sharded arrays (``metadata.sharding``) get the layout of their *inner* chunks plus a
    ``"shard"`` entry (codec, shard spec and shape, index layout) when the inner chain is
    native and the index is ``bytes`` (+ at most one ``crc32c``).
    """
    sharding = getattr(metadata, "sharding", None)
    if sharding is None:
        return _chain_plan(metadata.chunk_spec, metadata.codec_chain, metadata, kinds)
    spec = metadata.chunk_spec
    layout = sharding._layout(spec)
    plan = _chain_plan(layout.inner_spec, layout.inner_chain, metadata, kinds)
    if plan is None:
        return None
    ichain = layout.index_chain
    if tuple(ichain.aa):
        return None
    ins = ichain.ab.native_spec()
    if ins is None or ins.kind != "bytes":
        return None
    bb = [c.native_spec() for c in ichain.bb]
    if len(bb) > 1 or any(ns is None or ns.kind != "crc32c" for ns in bb):
        return None
    plan["shard"] = {
        "codec": sharding,
        "spec": spec,
        "shape": tuple(int(s) for s in spec.shape),
        "index_nbytes": int(layout.index_nbytes),
        "index_start": sharding.index_location == "start",
        "index_big": bool(ins.params and ins.params[0]),
        "index_crc": bool(bb),
    }
    return plan


def _chain_plan(
    spec: Any, chain: Any, metadata: Any, kinds: dict[str, int]
) -> dict[str, Any] | None:
    dtype = np.dtype(spec.dtype)
    if spec.vlen is not None or dtype.kind == "O" or dtype.itemsize == 0 or dtype.hasobject:
        return None
    ndim = len(spec.shape)
    if ndim > 32:
        return None
    perm = _perm_from_transposes(tuple(chain.aa), ndim)
    if perm is None:
        return None
    ab_spec = chain.ab.native_spec()
    if ab_spec is None or ab_spec.kind != "bytes":
        return None
    stored_big = bool(ab_spec.params and ab_spec.params[0])
    codecs = []
    for c in chain.bb:
        ns = c.native_spec()
        if ns is None or ns.kind not in kinds:
            return None
        codecs.append((kinds[ns.kind], tuple(int(p) for p in ns.params)))
    if len(codecs) > 8:
        return None
    itemsize = dtype.itemsize
    swap_unit = 0
    if itemsize > 1:
        order = dtype.byteorder
        mem_big = order == ">" or (order == "=" and sys.byteorder == "big")
        if order != "|" and mem_big != stored_big:
            if dtype.kind == "c":
                swap_unit = itemsize // 2
            elif dtype.kind == "U":
                swap_unit = 4  # UTF-32 code units
            elif dtype.kind in _SWAPPABLE:
                swap_unit = itemsize
            else:
                return None  # structured / unicode with a foreign byte order
    shape = tuple(int(s) for s in spec.shape)
    enc_shape = [shape[p] for p in perm]
    enc_strides = [0] * ndim
    acc = itemsize
    for i in range(ndim - 1, -1, -1):
        enc_strides[i] = acc
        acc *= enc_shape[i]
    strides = [0] * ndim
    for i, p in enumerate(perm):
        strides[p] = enc_strides[i]
    fv = spec.fill_value
    fill = np.asarray(0 if fv is None else fv, dtype=dtype).reshape(())
    stored_dtype = dtype.newbyteorder(">" if stored_big else "<") if swap_unit else dtype
    enc = metadata.chunk_key_encoding
    sep = enc.separator
    default = enc.name == "default"
    return {
        "dtype": dtype,
        "itemsize": itemsize,
        "swap_unit": swap_unit,
        "chunk_shape": shape,
        "chunk_strides": tuple(strides),
        "chunk_is_c": int(perm == list(range(ndim))),
        "chunk_nbytes": acc,
        "codecs": codecs,
        "fill_out": fill.tobytes(),
        "fill_stored": fill.astype(stored_dtype).tobytes(),
        "key_head": ("c" + sep) if default else "",
        "key_sep": sep,
        "zero_key": "c" if default else "0",
    }


def maybe_engine(
    metadata: Any,
    store: Any,
    path: str,
    fallback: Any = None,
    range_request: Any = None,
    coalesce_gap: int = 64 * 1024,
) -> Any:
    """A NativeEngine for this array, or None (unsupported chain / no extension).

    ``fallback`` is the Python engine used for what the native one does not cover
    (vindex/mask selections, orthogonal array selections); without it there is no
    native engine.  ``range_request(start, end)`` builds the store's byte-range request
    (sharded partial reads; without it whole shards are read) and ranges closer than
    ``coalesce_gap`` bytes are merged into one read.
    """
    if fallback is None:
        return None
    try:
        from zarrfast._native import _codecs, _pipeline
    except ImportError:
        return None
    try:
        plan = build_plan(metadata, dict(_codecs.KINDS))
        if plan is None:
            return None
        if "shard" in plan:
            plan["shard"]["range_request"] = range_request
            plan["shard"]["coalesce_gap"] = int(coalesce_gap)
        return _pipeline.NativeEngine(metadata, store, path, fallback, plan)
    except (AttributeError, TypeError, ValueError):
        return None
