"""Zarr v3 metadata: ``zarr.json`` for arrays and groups (incl. consolidated metadata)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zarrfast.codecs.registry import codec_from_json, codec_to_json
from zarrfast.core.chunk_grid import RegularChunkGrid, validate_shape
from zarrfast.core.chunk_key import parse_chunk_key_encoding
from zarrfast.core.metadata.common import ArrayMetadata, dump_json
from zarrfast.core.metadata.dtypes import (
    fill_value_to_json,
    parse_fill_value,
    parse_v3_data_type,
)
from zarrfast.errors import CodecError, MetadataError, UnknownCodecError

__all__ = ["ArrayMetadataV3", "GroupMetadataV3", "parse_v3"]

_ARRAY_KEYS = {
    "zarr_format",
    "node_type",
    "shape",
    "data_type",
    "chunk_grid",
    "chunk_key_encoding",
    "fill_value",
    "codecs",
    "attributes",
    "dimension_names",
    "storage_transformers",
}
_GROUP_KEYS = {"zarr_format", "node_type", "attributes", "consolidated_metadata"}


def _check_unknown(doc: Mapping[str, Any], known: set[str], key: str) -> None:
    for k, v in doc.items():
        if k in known:
            continue
        if isinstance(v, Mapping) and v.get("must_understand") is False:
            continue
        raise MetadataError(
            f"unknown field {k!r} in {key!r}: Zarr v3 readers must refuse fields they do not "
            'understand unless they carry "must_understand": false'
        )


def _attributes(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    attrs = doc.get("attributes", {})
    if attrs is None:
        attrs = {}
    if not isinstance(attrs, dict):
        raise MetadataError(f"expected 'attributes' to be an object in {key!r}, got {attrs!r}")
    return attrs


@dataclass(frozen=True)
class ArrayMetadataV3(ArrayMetadata):
    """Zarr v3 array metadata (the ``zarr.json`` of an array)."""

    zarr_format = 3
    storage_transformers: tuple[Any, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The ``zarr.json`` document as a dict."""
        d: dict[str, Any] = {
            "shape": list(self.shape),
            "data_type": self.data_type.v3_json,
            "chunk_grid": self.chunk_grid.to_json(),
            "chunk_key_encoding": self.chunk_key_encoding.to_json(),
            "fill_value": fill_value_to_json(self.fill_value, self.data_type, 3),
            "codecs": [codec_to_json(c, 3) for c in self.codec_chain.codecs],
            "attributes": self.attributes,
        }
        if self.dimension_names is not None:
            d["dimension_names"] = list(self.dimension_names)
        d["zarr_format"] = 3
        d["node_type"] = "array"
        d["storage_transformers"] = list(self.storage_transformers)
        return d

    def to_documents(self) -> dict[str, bytes]:
        """``zarr.json``, encoded."""
        return {"zarr.json": dump_json(self.to_dict())}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], key: str = "zarr.json") -> ArrayMetadataV3:
        """Parse an array's ``zarr.json`` (``key`` names it in error messages).

        Raises
        ------
        MetadataError
            If a field is missing, unknown or invalid.
        """
        _check_unknown(doc, _ARRAY_KEYS, key)
        for required in (
            "shape",
            "data_type",
            "chunk_grid",
            "chunk_key_encoding",
            "fill_value",
            "codecs",
        ):
            if required not in doc:
                raise MetadataError(
                    f"missing required field {required!r} in array metadata {key!r}"
                )
        shape = validate_shape(doc["shape"], "shape")
        dtype = parse_v3_data_type(doc["data_type"])
        grid = doc["chunk_grid"]
        if not isinstance(grid, Mapping) or grid.get("name") != "regular":
            raise MetadataError(
                f"expected chunk_grid {{'name': 'regular', ...}} in {key!r}, got {grid!r}"
            )
        conf = grid.get("configuration")
        if not isinstance(conf, Mapping) or "chunk_shape" not in conf:
            raise MetadataError(f"expected chunk_grid.configuration.chunk_shape in {key!r}")
        chunk_shape = validate_shape(conf["chunk_shape"], "chunk_shape", positive=True)
        chunk_grid = RegularChunkGrid(shape, chunk_shape)
        cke = parse_chunk_key_encoding(doc["chunk_key_encoding"])
        fill = parse_fill_value(doc["fill_value"], dtype, 3)
        raw_codecs = doc["codecs"]
        if not isinstance(raw_codecs, list) or not raw_codecs:
            raise MetadataError(
                f"expected a non-empty list of codecs in {key!r}, got {raw_codecs!r}"
            )
        try:
            codecs = tuple(codec_from_json(c, 3) for c in raw_codecs)
        except UnknownCodecError:
            raise
        except CodecError as exc:  # a known codec with a bad configuration
            raise MetadataError(f"invalid codecs in {key!r}: {exc}") from exc
        dim_names = doc.get("dimension_names")
        if dim_names is not None:
            if (
                not isinstance(dim_names, list)
                or len(dim_names) != len(shape)
                or not all(n is None or isinstance(n, str) for n in dim_names)
            ):
                raise MetadataError(
                    f"expected dimension_names to be a list of {len(shape)} strings or nulls, "
                    f"got {dim_names!r}"
                )
            dim_names = tuple(dim_names)
        st = doc.get("storage_transformers", [])
        if not isinstance(st, list):
            raise MetadataError(f"expected storage_transformers to be a list, got {st!r}")
        for t in st:
            if not (isinstance(t, Mapping) and t.get("must_understand") is False):
                raise MetadataError(f"unsupported storage transformer {t!r} in {key!r}")
        return cls(
            shape=shape,
            chunk_grid=chunk_grid,
            data_type=dtype,
            fill_value=fill,
            codecs=codecs,
            chunk_key_encoding=cke,
            attributes=_attributes(doc, key),
            dimension_names=dim_names,
            storage_transformers=tuple(st),
        )


@dataclass(frozen=True)
class GroupMetadataV3:
    """Zarr v3 group metadata, optionally with inline consolidated metadata."""

    attributes: dict[str, Any] = field(default_factory=dict)
    #: path (relative to this group) -> the member's metadata dict, when consolidated.
    consolidated: dict[str, dict[str, Any]] | None = None
    zarr_format = 3

    def to_dict(self) -> dict[str, Any]:
        """The ``zarr.json`` document as a dict."""
        d: dict[str, Any] = {"attributes": self.attributes, "zarr_format": 3}
        if self.consolidated is not None:
            d["consolidated_metadata"] = {
                "kind": "inline",
                "must_understand": False,
                "metadata": self.consolidated,
            }
        d["node_type"] = "group"
        return d

    def to_documents(self) -> dict[str, bytes]:
        """``zarr.json``, encoded."""
        return {"zarr.json": dump_json(self.to_dict())}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], key: str = "zarr.json") -> GroupMetadataV3:
        """Parse a group's ``zarr.json`` (``key`` names it in error messages).

        Raises
        ------
        MetadataError
            If a field is unknown or invalid.
        """
        _check_unknown(doc, _GROUP_KEYS, key)
        cons = doc.get("consolidated_metadata")
        consolidated = None
        if isinstance(cons, Mapping):
            meta = cons.get("metadata")
            if not isinstance(meta, Mapping):
                raise MetadataError(f"expected consolidated_metadata.metadata object in {key!r}")
            consolidated = {str(k): dict(v) for k, v in meta.items() if isinstance(v, Mapping)}
        elif cons is not None:
            raise MetadataError(f"expected consolidated_metadata to be an object in {key!r}")
        return cls(attributes=_attributes(doc, key), consolidated=consolidated)


def parse_v3(doc: Mapping[str, Any], key: str = "zarr.json") -> ArrayMetadataV3 | GroupMetadataV3:
    """Parse a ``zarr.json`` document (already loaded) into array or group metadata."""
    if doc.get("zarr_format") != 3:
        raise MetadataError(f"expected zarr_format 3 in {key!r}, got {doc.get('zarr_format')!r}")
    nt = doc.get("node_type")
    if nt == "array":
        return ArrayMetadataV3.from_dict(doc, key)
    if nt == "group":
        return GroupMetadataV3.from_dict(doc, key)
    raise MetadataError(f"expected node_type 'array' or 'group' in {key!r}, got {nt!r}")
