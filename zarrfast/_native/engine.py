"""Choose the native batch engine for an array when its whole codec chain runs in C.

:func:`choose` is what :func:`zarrfast.core.pipeline.choose_engine` calls.  It never
raises for an unsupported array or a missing extension: it returns ``None`` with the
reason, and the Python engine is used.  Codecs are recognised by duck typing (``name``,
``native_spec``) so this module imports nothing from ``zarrfast.core`` or
``zarrfast.codecs``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = ["build_plan", "choose", "maybe_engine", "plan_or_reason"]

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


class _NotNative(Exception):
    """Why an array's chunks cannot run natively (the message is the reason)."""


def plan_or_reason(
    metadata: Any, kinds: dict[str, int]
) -> tuple[dict[str, Any] | None, str | None]:
    """``(plan, None)`` when ``metadata``'s chunks run natively, else ``(None, reason)``."""
    try:
        return _build_plan(metadata, kinds), None
    except _NotNative as exc:
        return None, str(exc)


def build_plan(metadata: Any, kinds: dict[str, int]) -> dict[str, Any] | None:
    """The native layout of ``metadata``'s chunks, or None if it is not all native."""
    return plan_or_reason(metadata, kinds)[0]


def _build_plan(metadata: Any, kinds: dict[str, int]) -> dict[str, Any]:
    """The native layout of ``metadata``'s chunks; raises _NotNative with the reason.

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
    ichain = layout.index_chain
    ins = ichain.ab.native_spec()
    bb = [c.native_spec() for c in ichain.bb]
    if (
        tuple(ichain.aa)
        or ins is None
        or ins.kind != "bytes"
        or len(bb) > 1
        or any(ns is None or ns.kind != "crc32c" for ns in bb)
    ):
        raise _NotNative("shard index codecs other than bytes (+ one crc32c)")
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


def _codec_name(c: Any) -> str:
    return str(getattr(c, "name", None) or f"numcodecs.{getattr(c, 'v2_id', '?')}")


def _chain_plan(spec: Any, chain: Any, metadata: Any, kinds: dict[str, int]) -> dict[str, Any]:
    dtype = np.dtype(spec.dtype)
    if spec.vlen is not None or dtype.kind == "O" or dtype.itemsize == 0 or dtype.hasobject:
        raise _NotNative(f"variable-length data type ({spec.vlen or dtype})")
    ndim = len(spec.shape)
    if ndim > 32:
        raise _NotNative(f"{ndim} dimensions (the native engine takes up to 32)")
    perm = _perm_from_transposes(tuple(chain.aa), ndim)
    if perm is None:
        names = [_codec_name(c) for c in chain.aa if getattr(c, "name", None) != "transpose"]
        raise _NotNative(f"array->array codec {names[0] if names else '?'} runs in Python")
    ab_spec = chain.ab.native_spec()
    if ab_spec is None or ab_spec.kind != "bytes":
        raise _NotNative(f"array->bytes codec {_codec_name(chain.ab)} runs in Python")
    stored_big = bool(ab_spec.params and ab_spec.params[0])
    codecs = []
    for c in chain.bb:
        ns = c.native_spec()
        if ns is None or ns.kind not in kinds:
            raise _NotNative(f"bytes->bytes codec {_codec_name(c)} runs in Python")
        codecs.append((kinds[ns.kind], tuple(int(p) for p in ns.params)))
    if len(codecs) > 8:
        raise _NotNative(f"{len(codecs)} bytes->bytes codecs (the native engine takes up to 8)")
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
                raise _NotNative(f"data type {dtype} stored in a foreign byte order")
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


def choose(
    metadata: Any,
    store: Any,
    path: str,
    fallback: Any = None,
    range_request: Any = None,
    coalesce_gap: int = 64 * 1024,
) -> tuple[Any, str | None]:
    """``(NativeEngine, None)`` for this array, or ``(None, why not)``.

    ``fallback`` is the Python engine used for what the native one does not cover
    (vindex/mask selections, orthogonal array selections); without it there is no
    native engine.  ``range_request(start, end)`` builds the store's byte-range request
    (sharded partial reads; without it whole shards are read) and ranges closer than
    ``coalesce_gap`` bytes are merged into one read.  Never raises for an unsupported
    array or a missing extension.
    """
    if fallback is None:
        return None, "no Python engine to hand other selections to"
    try:
        from zarrfast._native import _codecs, _pipeline
    except ImportError as exc:
        return None, f"the native extension does not import ({exc})"
    try:
        plan, reason = plan_or_reason(metadata, dict(_codecs.KINDS))
        if plan is None:
            return None, reason
        if "shard" in plan:
            plan["shard"]["range_request"] = range_request
            plan["shard"]["coalesce_gap"] = int(coalesce_gap)
        return _pipeline.NativeEngine(metadata, store, path, fallback, plan), None
    except (AttributeError, TypeError, ValueError) as exc:
        return None, f"native layout rejected: {exc}"


def maybe_engine(*args: Any, **kwargs: Any) -> Any:
    """A NativeEngine for this array, or None: :func:`choose` without the reason."""
    return choose(*args, **kwargs)[0]
