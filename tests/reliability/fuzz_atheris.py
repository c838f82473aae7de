"""Coverage-guided fuzzing of the native decoders and the shard index with atheris.

Not collected by pytest.  Long run (``pip install atheris``)::

    python -m tests.reliability.fuzz_atheris -atheris_runs=2000000 -max_len=8192

The first input byte picks the target.  Any exception outside the zarrfast hierarchy,
a wrong-sized result or a crash is a bug (atheris prints the reproducer file).
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    import numpy as np

    from zarrfast._native import _codecs as nc
    from zarrfast.abc.codec import ChunkSpec
    from zarrfast.codecs.sharding import ShardingCodec
    from zarrfast.errors import ZarrfastError

TARGETS = [
    ("zstd", (3, 1)),
    ("lz4", (1,)),
    ("zlib", (6,)),
    ("gzip", (5,)),
    ("crc32c", ()),
    ("blosc", (nc.BLOSC_COMPRESSORS["zstd"], 5, 1, 4, 0)),
]
SHARD = ShardingCodec(chunk_shape=(4, 4))
SPEC = ChunkSpec(shape=(16, 16), dtype=np.dtype("i4"), fill_value=np.int32(0))


def one_input(data: bytes) -> None:
    if len(data) < 3:
        return
    which, expected = data[0] % (len(TARGETS) + 2), int.from_bytes(data[1:3], "little")
    blob = data[3:]
    try:
        if which < len(TARGETS):
            kind, params = TARGETS[which]
            out = nc.decode(kind, params, blob, expected_size=expected)
            assert len(out) == expected
            nc.decode(kind, params, blob)
        elif which == len(TARGETS):
            SHARD.decode_index(blob, SPEC, expected or None)
        else:
            out = SHARD.decode(blob, SPEC)
            assert out.shape == (16, 16)
    except ZarrfastError:
        pass


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
