"""Codec registry: v3 names and v2 (numcodecs) ids to codec classes, and JSON parsing.

v2-only codecs (``zlib``, ``lz4``, ``bz2``, the v2 filters) are also reachable in Zarr v3
metadata under zarr-python's ``numcodecs.<id>`` names, which is how zarr-python 3 writes
them, so arrays using them stay readable by both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zarrfast.abc.codec import Codec
from zarrfast.errors import CodecError, RegistryError, UnknownCodecError

__all__ = [
    "codec_from_json",
    "codec_from_user",
    "codec_to_json",
    "get_codec_class",
    "register_codec",
    "registered_codecs",
]

_BY_V3: dict[str, type[Codec]] = {}
_BY_V2: dict[str, type[Codec]] = {}

#: Shorthand names accepted by ``create(compressor=...)``, with their defaults.
_SHORTHAND: dict[str, tuple[str, dict[str, Any]]] = {
    "zstd": ("zstd", {"level": 1, "checksum": False}),
    "blosc": ("blosc", {"cname": "lz4", "clevel": 5, "shuffle": "shuffle"}),
    "gzip": ("gzip", {"level": 5}),
    "zlib": ("zlib", {"level": 1}),
    "lz4": ("lz4", {"acceleration": 1}),
    "bz2": ("bz2", {"level": 1}),
}
#: Where Zarr v3 has a core codec for the same format, the shorthand writes it.
_V3_SHORTHAND: dict[str, tuple[str, dict[str, Any]]] = {"zlib": ("gzip", {"level": 1})}


def register_codec(cls: type[Codec], *, replace: bool = False) -> type[Codec]:
    """Register a codec class under its v3 ``name`` and/or v2 ``v2_id``.

    Registering a taken name raises :class:`RegistryError` unless ``replace=True``.
    """
    if not (isinstance(cls, type) and issubclass(cls, Codec)):
        raise RegistryError(f"expected a Codec subclass, got {cls!r}")
    names_v3 = [n for n in (cls.name, f"numcodecs.{cls.v2_id}" if cls.v2_id else None) if n]
    if not names_v3 and not cls.v2_id:
        raise RegistryError(f"codec class {cls.__name__} has neither a v3 name nor a v2 id")
    if not replace:
        for n in names_v3:
            if n in _BY_V3 and _BY_V3[n] is not cls:
                raise RegistryError(
                    f"codec name {n!r} is already registered to {_BY_V3[n].__name__}"
                )
        if cls.v2_id and cls.v2_id in _BY_V2 and _BY_V2[cls.v2_id] is not cls:
            raise RegistryError(
                f"codec id {cls.v2_id!r} is already registered to {_BY_V2[cls.v2_id].__name__}"
            )
    for n in names_v3:
        _BY_V3[n] = cls
    if cls.v2_id:
        _BY_V2[cls.v2_id] = cls
    return cls


def registered_codecs() -> dict[str, list[str]]:
    """Names known to the registry: ``{"v3": [...], "v2": [...]}``."""
    return {"v3": sorted(_BY_V3), "v2": sorted(_BY_V2)}


def get_codec_class(name: str, zarr_format: int = 3) -> type[Codec]:
    table = _BY_V3 if zarr_format == 3 else _BY_V2
    try:
        return table[name]
    except KeyError:
        known = ", ".join(sorted(table))
        kind = "codec name" if zarr_format == 3 else "numcodecs codec id"
        raise UnknownCodecError(f"unknown {kind} {name!r}; known: {known}") from None


def codec_from_json(obj: Any, zarr_format: int) -> Codec:
    """Build a codec from its metadata JSON (v3 ``{"name", "configuration"}`` or v2 ``{"id"}``)."""
    if zarr_format == 3:
        name: object
        if isinstance(obj, str):
            name, conf = obj, {}
        elif isinstance(obj, Mapping):
            name = obj.get("name")
            conf = obj.get("configuration", {})
            extra = set(obj) - {"name", "configuration", "must_understand"}
            if extra:
                raise CodecError(f"codec {name!r}: unexpected keys {sorted(extra)} in {dict(obj)}")
        else:
            raise CodecError(f"expected a codec object or name, got {obj!r}")
        if not isinstance(name, str):
            raise CodecError(f"expected a string codec 'name', got {name!r}")
        if not isinstance(conf, Mapping):
            raise CodecError(f"codec {name!r}: expected a 'configuration' object, got {conf!r}")
        cls = get_codec_class(name, 3)
        if name.startswith("numcodecs.") and cls.name != name:
            return cls.from_v2_config({"id": cls.v2_id, **conf})
        return cls.from_config(conf)
    if not isinstance(obj, Mapping) or not isinstance(obj.get("id"), str):
        raise CodecError(f"expected a numcodecs config with a string 'id', got {obj!r}")
    return get_codec_class(obj["id"], 2).from_v2_config(obj)


def codec_to_json(codec: Codec, zarr_format: int) -> dict[str, Any]:
    """The metadata JSON of ``codec`` for the given format."""
    if zarr_format == 2:
        return codec.to_v2_config()
    if codec.name is not None:
        return codec.to_config()
    if codec.v2_id is not None:
        conf = {k: v for k, v in codec.to_v2_config().items() if k != "id"}
        return {"name": f"numcodecs.{codec.v2_id}", "configuration": conf}
    raise CodecError(f"codec {codec!r} cannot be written to Zarr v3 metadata")


def codec_from_user(obj: Any, zarr_format: int) -> Codec | None:
    """Interpret what a user passes as ``compressor=`` / a ``codecs=`` entry.

    Accepts ``None``, a :class:`Codec`, a shorthand name (``"zstd"``, ``"blosc"``,
    ``"zlib"``, ``"gzip"``, ``"lz4"``, ``"bz2"``), a v2 ``{"id": ...}`` dict or a v3
    ``{"name": ..., "configuration": ...}`` dict, whatever ``zarr_format`` is.

    The shorthand ``"zlib"`` means numcodecs ``zlib`` in Zarr v2 but the core ``gzip``
    codec (the same DEFLATE stream in a gzip container) in Zarr v3: ``numcodecs.zlib``
    is an extension that tensorstore and zarrs cannot open, and every v3 reader knows
    ``gzip``.  Pass ``{"id": "zlib"}`` or a :class:`~zarrfast.codecs.zlib.ZlibCodec` to
    write ``numcodecs.zlib`` in v3 anyway; arrays stored with it stay readable.
    """
    if obj is None:
        return None
    if isinstance(obj, Codec):
        return obj
    if isinstance(obj, str):
        if obj in _SHORTHAND:
            key, conf = _SHORTHAND[obj]
            if zarr_format == 3:
                key, conf = _V3_SHORTHAND.get(obj, (key, conf))
            cls = _BY_V2.get(key) or _BY_V3.get(key)
            if cls is None:
                raise UnknownCodecError(f"codec {obj!r} is not available")
            return (
                cls.from_v2_config({"id": cls.v2_id, **conf})
                if cls.v2_id
                else cls.from_config(conf)
            )
        if obj in _BY_V3:
            return _BY_V3[obj].from_config({})
        raise UnknownCodecError(
            f"unknown compressor {obj!r}; expected one of {sorted(_SHORTHAND)}, None, "
            "a codec object or a JSON config"
        )
    if isinstance(obj, Mapping):
        if "id" in obj:
            return codec_from_json(obj, 2)
        if "name" in obj:
            return codec_from_json(obj, 3)
    if hasattr(obj, "get_config") and callable(obj.get_config):  # a numcodecs codec object
        return codec_from_json(obj.get_config(), 2)
    raise CodecError(f"expected a codec, a codec name or a JSON config, got {obj!r}")
