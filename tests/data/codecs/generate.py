"""Regenerate the golden encoded blobs in this directory with numcodecs (run by hand).

    python tests/data/codecs/generate.py

Each blob is written by numcodecs from deterministic data; manifest.json records the
numcodecs config, the decoded size and the sha256 of the decoded bytes.  The tests decode
the frozen blobs bit-exactly, so a change in a reader (ours or a dependency) shows up even
when both sides of a live interop test change together.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numcodecs
import numpy as np

HERE = Path(__file__).resolve().parent


def _data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20240611)
    return {
        "f8_ramp": np.linspace(0, 100, 1000, dtype="<f8"),
        "i2_noise": rng.integers(-300, 300, size=1001, dtype="<i2"),
        "u1_text": np.frombuffer(b"zarrfast golden fixture " * 40 + b"!", dtype="u1"),
        "i4_small": np.arange(7, dtype="<i4"),
        "empty": np.zeros(0, dtype="u1"),
    }


CODECS: list[dict] = [
    {"id": "zstd", "level": 1},
    {"id": "zstd", "level": 5, "checksum": True},
    {"id": "gzip", "level": 5},
    {"id": "zlib", "level": 1},
    {"id": "lz4", "acceleration": 1},
    {"id": "bz2", "level": 1},
]
for cname in ("blosclz", "lz4", "lz4hc", "zlib", "zstd"):
    for shuffle in (0, 1, 2):
        CODECS.append(
            {"id": "blosc", "cname": cname, "clevel": 5, "shuffle": shuffle, "blocksize": 0}
        )
CODECS.append({"id": "blosc", "cname": "zstd", "clevel": 5, "shuffle": 1, "blocksize": 4096})


def main() -> None:
    manifest = []
    for data_name, arr in _data().items():
        raw = arr.tobytes()
        for config in CODECS:
            codec = numcodecs.get_codec(dict(config))
            encoded = bytes(codec.encode(arr))
            tag = "-".join(str(v) for k, v in config.items() if k != "blocksize" or v)
            fname = f"{data_name}.{tag}.bin"
            (HERE / fname).write_bytes(encoded)
            manifest.append(
                {
                    "file": fname,
                    "config": config,
                    "dtype": arr.dtype.str,
                    "decoded_size": len(raw),
                    "sha256": hashlib.sha256(raw).hexdigest(),
                }
            )
    doc = {"numcodecs": numcodecs.__version__, "blobs": manifest}
    (HERE / "manifest.json").write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
