"""Codecs, one module each; every built-in codec is registered by an explicit line below.

Users add their own with :func:`register_codec`.
"""

from zarrfast.codecs.astype import AsTypeCodec
from zarrfast.codecs.bitround import BitRoundCodec
from zarrfast.codecs.blosc import BloscCodec
from zarrfast.codecs.bytes import BytesCodec
from zarrfast.codecs.bz2 import BZ2Codec
from zarrfast.codecs.categorize import CategorizeCodec
from zarrfast.codecs.chain import CodecChain
from zarrfast.codecs.checksum32 import Adler32Codec, CRC32Codec, NumcodecsCRC32CCodec
from zarrfast.codecs.crc32c import Crc32cCodec
from zarrfast.codecs.delta import DeltaCodec
from zarrfast.codecs.fixedscaleoffset import FixedScaleOffsetCodec
from zarrfast.codecs.fletcher32 import Fletcher32Codec
from zarrfast.codecs.gzip import GzipCodec
from zarrfast.codecs.lz4 import LZ4Codec
from zarrfast.codecs.lzma import LZMACodec
from zarrfast.codecs.packbits import PackBitsCodec
from zarrfast.codecs.quantize import QuantizeCodec
from zarrfast.codecs.registry import (
    codec_from_json,
    codec_from_user,
    codec_to_json,
    get_codec_class,
    register_codec,
    registered_codecs,
)
from zarrfast.codecs.sharding import ShardingCodec
from zarrfast.codecs.shuffle import ShuffleCodec
from zarrfast.codecs.transpose import TransposeCodec
from zarrfast.codecs.vlen import VLenBytesCodec, VLenUTF8Codec
from zarrfast.codecs.zlib import ZlibCodec
from zarrfast.codecs.zstd import ZstdCodec

register_codec(BytesCodec)
register_codec(TransposeCodec)
register_codec(ShardingCodec)
register_codec(VLenUTF8Codec)
register_codec(VLenBytesCodec)
register_codec(ZstdCodec)
register_codec(BloscCodec)
register_codec(GzipCodec)
register_codec(ZlibCodec)
register_codec(LZ4Codec)
register_codec(BZ2Codec)
register_codec(Crc32cCodec)
register_codec(DeltaCodec)
register_codec(FixedScaleOffsetCodec)
register_codec(AsTypeCodec)
register_codec(ShuffleCodec)
register_codec(CRC32Codec)
register_codec(NumcodecsCRC32CCodec)
register_codec(Adler32Codec)
register_codec(Fletcher32Codec)
register_codec(LZMACodec)
register_codec(PackBitsCodec)
register_codec(QuantizeCodec)
register_codec(BitRoundCodec)
register_codec(CategorizeCodec)

__all__ = [
    "Adler32Codec",
    "AsTypeCodec",
    "BZ2Codec",
    "BitRoundCodec",
    "BloscCodec",
    "BytesCodec",
    "CRC32Codec",
    "CategorizeCodec",
    "CodecChain",
    "Crc32cCodec",
    "DeltaCodec",
    "FixedScaleOffsetCodec",
    "Fletcher32Codec",
    "GzipCodec",
    "LZ4Codec",
    "LZMACodec",
    "NumcodecsCRC32CCodec",
    "PackBitsCodec",
    "QuantizeCodec",
    "ShardingCodec",
    "ShuffleCodec",
    "TransposeCodec",
    "VLenBytesCodec",
    "VLenUTF8Codec",
    "ZlibCodec",
    "ZstdCodec",
    "codec_from_json",
    "codec_from_user",
    "codec_to_json",
    "get_codec_class",
    "register_codec",
    "registered_codecs",
]
