"""Blosc (v3 ``blosc``, v2 numcodecs ``blosc``).

Encoding writes the classic Blosc1 chunk format (version 2, 16-byte header) with our own
encoder in ``csrc/zf_blosc1.c``: libblosc2's own format (5/6, 32-byte header) cannot be read
by c-blosc1, which numcodecs, zarr-python, tensorstore and zarrs use.  Decoding validates the
header against the input length and the expected size first; Blosc1-format chunks are then
decoded by our own bounds-checked decoder (libblosc2 3.3.5 returns wrong bytes for some valid
c-blosc1 bitshuffle chunks), newer formats by libblosc2.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from zarrfast._native import _codecs as _native
from zarrfast.abc.codec import Buffer, BytesBytesCodec, ChunkSpec, NativeCodecSpec
from zarrfast.codecs.zstd import _check_int
from zarrfast.errors import CodecError

__all__ = ["BloscCodec"]

CNAMES = ("blosclz", "lz4", "lz4hc", "zlib", "zstd")
SHUFFLES = ("noshuffle", "shuffle", "bitshuffle")
#: numcodecs' numeric shuffle modes; -1 (AUTOSHUFFLE) is resolved from the item size.
V2_SHUFFLE = {0: "noshuffle", 1: "shuffle", 2: "bitshuffle", -1: "auto"}
V2_SHUFFLE_IDS = {v: k for k, v in V2_SHUFFLE.items()}


class BloscCodec(BytesBytesCodec):
    """Blosc meta-compression (shuffle + an inner compressor, in blocks).

    Parameters
    ----------
    cname
        Inner compressor: ``"blosclz"``, ``"lz4"``, ``"lz4hc"``, ``"zlib"`` or ``"zstd"``.
    clevel
        Compression level 0 (store) to 9.
    shuffle
        ``"noshuffle"``, ``"shuffle"``, ``"bitshuffle"`` (v2 numbers 0, 1, 2 accepted), or
        ``"auto"`` / -1: bitshuffle for 1-byte items, else shuffle (numcodecs' AUTOSHUFFLE).
    typesize
        Item size the shuffle works on; filled from the dtype by :meth:`evolve_from_spec`.
    blocksize
        Block size in bytes; 0 chooses automatically.
    """

    name: ClassVar[str] = "blosc"
    v2_id: ClassVar[str] = "blosc"

    def __init__(
        self,
        cname: str = "zstd",
        clevel: int = 5,
        shuffle: str | int = "shuffle",
        typesize: int | None = None,
        blocksize: int = 0,
    ) -> None:
        if cname == "snappy":
            raise CodecError(
                "blosc codec: cname 'snappy' is not supported (c-blosc builds used by "
                f"numcodecs and zarr-python omit it); use one of {list(CNAMES)}"
            )
        if cname not in CNAMES:
            raise CodecError(f"blosc codec: expected cname in {list(CNAMES)}, got {cname!r}")
        if isinstance(shuffle, int) and not isinstance(shuffle, bool):
            if shuffle not in V2_SHUFFLE:
                raise CodecError(f"blosc codec: expected shuffle -1, 0, 1 or 2, got {shuffle}")
            shuffle = V2_SHUFFLE[shuffle]
        if shuffle not in (*SHUFFLES, "auto"):
            raise CodecError(
                f"blosc codec: expected shuffle in {[*SHUFFLES, 'auto']}, got {shuffle!r}"
            )
        self.cname = cname
        self.clevel = _check_int("blosc", "clevel", clevel, 0, 9)
        self.shuffle = shuffle
        self.typesize = (
            None if typesize is None else _check_int("blosc", "typesize", typesize, 1, 2**31 - 1)
        )
        self.blocksize = _check_int("blosc", "blocksize", blocksize, 0, 2**31 - 1)

    # ------------------------------------------------------------------ configuration
    def to_config(self) -> dict[str, Any]:
        """The v3 form zarr-python writes (``typesize`` required unless ``noshuffle``)."""
        shuffle = self._resolved_shuffle()
        config: dict[str, Any] = {}
        if self.typesize is not None:
            config["typesize"] = self.typesize
        elif shuffle != "noshuffle":
            raise CodecError(
                "blosc codec: typesize is required in Zarr v3 metadata unless shuffle is "
                "'noshuffle'; set it or call evolve_from_spec() with the chunk spec"
            )
        config.update(
            cname=self.cname, clevel=self.clevel, shuffle=shuffle, blocksize=self.blocksize
        )
        return {"name": "blosc", "configuration": config}

    @classmethod
    def from_v2_config(cls, config: Mapping[str, Any]) -> BloscCodec:
        cfg = {k: v for k, v in config.items() if k != "id"}
        try:
            return cls(**cfg)
        except TypeError as exc:
            raise CodecError(f"invalid configuration for codec 'blosc': {exc}") from exc

    def to_v2_config(self) -> dict[str, Any]:
        """The numcodecs form as zarr-python writes it (numeric shuffle, no typesize)."""
        return {
            "id": "blosc",
            "cname": self.cname,
            "clevel": self.clevel,
            "shuffle": V2_SHUFFLE_IDS[self.shuffle],
            "blocksize": self.blocksize,
        }

    def evolve_from_spec(self, spec: ChunkSpec) -> BloscCodec:
        """Fill ``typesize`` from the dtype and resolve ``auto`` shuffle like numcodecs."""
        itemsize = spec.dtype.itemsize if spec.vlen is None else 1
        itemsize = max(1, itemsize)
        typesize = self.typesize if self.typesize is not None else itemsize
        shuffle = self.shuffle
        if shuffle == "auto":
            shuffle = "bitshuffle" if typesize == 1 else "shuffle"
        if typesize == self.typesize and shuffle == self.shuffle:
            return self
        return BloscCodec(self.cname, self.clevel, shuffle, typesize, self.blocksize)

    def _resolved_shuffle(self) -> str:
        if self.shuffle == "auto":
            return "bitshuffle" if (self.typesize or 1) == 1 else "shuffle"
        return self.shuffle

    def _params(self) -> tuple[int, ...]:
        return (
            _native.BLOSC_COMPRESSORS[self.cname],
            self.clevel,
            _native.BLOSC_SHUFFLES[self._resolved_shuffle()],
            self.typesize or 1,
            self.blocksize,
        )

    def native_spec(self) -> NativeCodecSpec:
        """``("blosc", (compressor, clevel, shuffle, typesize, blocksize))`` (zf_blosc1.h)."""
        return NativeCodecSpec("blosc", self._params())

    # ------------------------------------------------------------------ coding
    def encode(self, data: Buffer) -> bytes:
        return _native.encode("blosc", self._params(), data)

    def decode(self, data: Buffer, expected_size: int | None = None) -> bytes:
        return _native.decode("blosc", (), data, expected_size)
