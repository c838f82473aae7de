"""Blosc shuffle kernels and Blosc1 chunks across every SIMD path boundary.

csrc/zf_blosc1.c byte-shuffles typesizes 2, 4, 8 and 16 in tiles of 16 (SSE2) or 32
(AVX2) elements and finishes the rest with scalar loops; bitshuffle runs as a byte
shuffle, a bit transpose of 8-byte groups (16/32 bytes per SIMD step) and a typesize-8
byte shuffle of n/8 groups.  These tests pick element counts and block sizes on both sides
of every tile size, odd typesizes without a fast path, and compare against numpy and
against c-blosc1 (numcodecs) in both directions.  The extension only runs the widest
path the CPU has, so the C test at the end also builds the kernels with the SSE2 and the
portable paths forced (-DZF_NO_AVX2, -DZF_NO_SIMD) and checks them the same way.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import numcodecs
import numpy as np
import pytest

from tests.test_native.test_native_codecs import _bitshuffle_ref, _shuffle_ref
from zarrfast._native import _codecs as nc
from zarrfast.errors import DecodeError

TYPESIZES = [1, 2, 3, 4, 8, 12, 16]
# element counts around the 16- and 32-element tiles, the 8-element bitshuffle rule and
# n/8 groups crossing the typesize-8 tiles (n = 8 * 16, 8 * 32, ...)
_EDGES = (8, 16, 24, 32, 40, 64, 128, 136, 256, 264, 512)
COUNTS = [0, 1, 1000, 4104, *(m + d for m in _EDGES for d in (-1, 0, 1))]


def _data(nbytes: int, seed: int = 0) -> bytes:
    """Compressible but not trivial bytes: a slow ramp with small noise."""
    rng = np.random.default_rng(seed)
    ramp = (np.arange(nbytes) // 97).astype(np.uint8)
    return (ramp + rng.integers(0, 4, nbytes, dtype=np.uint8)).tobytes()


@pytest.mark.parametrize("ts", [*TYPESIZES, 5, 17, 32])
def test_shuffle_kernels_at_tile_edges(ts: int) -> None:
    for n in COUNTS:
        for extra in sorted({0, 1, ts - 1}):  # trailing bytes past the last element
            data = _data(n * ts + extra, seed=n)
            s = nc.blosc_shuffle(data, ts)
            assert s == _shuffle_ref(data, ts), (n, extra)
            assert nc.blosc_unshuffle(s, ts) == data, (n, extra)
            b = nc.blosc_bitshuffle(data, ts)
            assert b == _bitshuffle_ref(data, ts), (n, extra)
            assert nc.blosc_bitunshuffle(b, ts) == data, (n, extra)


def test_shuffle_kernels_large_block() -> None:
    """A W3/W6-sized buffer (64**3 uint16) and other typesizes over the same bytes."""
    data = _data(2 * 64**3 + 3)
    for ts in (2, 4, 8, 16, 12):
        assert nc.blosc_shuffle(data, ts) == _shuffle_ref(data, ts)
        assert nc.blosc_unshuffle(_shuffle_ref(data, ts), ts) == data
        assert nc.blosc_bitshuffle(data, ts) == _bitshuffle_ref(data, ts)
        assert nc.blosc_bitunshuffle(_bitshuffle_ref(data, ts), ts) == data


def _params(cname: str, shuffle: int, ts: int, blocksize: int) -> tuple[int, ...]:
    return (nc.BLOSC_COMPRESSORS[cname], 5, shuffle, ts, blocksize)


# blocksizes (0 = automatic) that leave element counts off every tile multiple once
# c-blosc rounds them down to a multiple of the typesize
BLOCKSIZES = [0, 200, 1000, 4100, 65560]


@pytest.mark.interop
@pytest.mark.parametrize("shuffle", [0, 1, 2], ids=["noshuffle", "shuffle", "bitshuffle"])
@pytest.mark.parametrize("ts", TYPESIZES)
@pytest.mark.parametrize("blocksize", BLOCKSIZES)
def test_blosc_chunks_match_numcodecs(shuffle: int, ts: int, blocksize: int) -> None:
    for nelem in (17, 1000, 33000):
        for extra in sorted({0, ts - 1}):  # nbytes not a multiple of the typesize
            raw = _data(nelem * ts + extra, seed=nelem + extra)
            theirs = numcodecs.Blosc("lz4", 5, shuffle, blocksize=blocksize, typesize=ts)
            ours = nc.encode("blosc", _params("lz4", shuffle, ts, blocksize), raw)
            assert bytes(theirs.decode(ours)) == raw, (nelem, extra)
            enc = bytes(theirs.encode(raw))
            assert nc.decode("blosc", (), enc, expected_size=len(raw)) == raw, (nelem, extra)


@pytest.mark.interop
@pytest.mark.parametrize("cname", ["blosclz", "lz4", "lz4hc", "zlib", "zstd"])
@pytest.mark.parametrize("shuffle", [1, 2], ids=["shuffle", "bitshuffle"])
def test_blosc_compressors_with_shuffles(cname: str, shuffle: int) -> None:
    """Split streams (blosclz) and every compressor through the SIMD (un)shuffles."""
    for ts in (2, 4, 8, 16, 3, 12):
        raw = _data(ts * 40000 + 5, seed=ts)
        theirs = numcodecs.Blosc(cname, 5, shuffle, typesize=ts)
        ours = nc.encode("blosc", _params(cname, shuffle, ts, 0), raw)
        assert bytes(theirs.decode(ours)) == raw, ts
        assert nc.decode("blosc", (), bytes(theirs.encode(raw))) == raw, ts


@pytest.mark.parametrize("shuffle", [1, 2], ids=["shuffle", "bitshuffle"])
def test_blosc_corrupt_shuffled_chunks_raise(shuffle: int) -> None:
    """Flipped bytes anywhere in a shuffled chunk: an error or the right size, no crash."""
    raw = _data(2 * 20000)
    enc = nc.encode("blosc", _params("lz4", shuffle, 2, 4096), raw)
    rng = np.random.default_rng(1)
    for pos in [*range(0, 64), *rng.integers(0, len(enc), 300).tolist()]:
        bad = bytearray(enc)
        bad[pos] ^= 1 << int(rng.integers(0, 8))
        try:
            out = nc.decode("blosc", (), bytes(bad), expected_size=len(raw))
        except DecodeError:
            continue
        assert len(out) == len(raw)
    for cut in (17, 100, len(enc) // 2, len(enc) - 1):
        with pytest.raises(DecodeError):
            nc.decode("blosc", (), enc[:cut], expected_size=len(raw))


# ------------------------------------------------------------------ every build variant
_C_CHECK = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zf_blosc1.h"

static void ref_shuffle(size_t ts, size_t len, const uint8_t *s, uint8_t *d) {
    size_t n = len / ts;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ts; j++) d[j * n + i] = s[i * ts + j];
    memcpy(d + n * ts, s + n * ts, len - n * ts);
}

static void ref_bitshuffle(size_t ts, size_t len, const uint8_t *s, uint8_t *d) {
    size_t n = len / ts;
    if (n % 8) { memcpy(d, s, len); return; }
    memset(d, 0, n * ts);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ts; j++)
            for (int k = 0; k < 8; k++)
                if (s[i * ts + j] >> k & 1) d[(j * 8 + k) * (n / 8) + i / 8] |= 1 << (i % 8);
    memcpy(d + n * ts, s + n * ts, len - n * ts);
}

int main(void) {
    static const size_t tss[] = {1, 2, 3, 4, 5, 8, 12, 16, 17};
    int bad = 0;
    unsigned seed = 1;
    for (size_t t = 0; t < sizeof tss / sizeof *tss; t++) {
        size_t ts = tss[t];
        for (size_t len = 0; len < 3000; len += len < 700 ? 1 : 61) {
            uint8_t *a = malloc(len + 1), *r = malloc(len + 1), *o = malloc(len + 1),
                    *u = malloc(len + 1), *e = malloc(len + 16), *x = malloc(len + 1);
            for (size_t i = 0; i < len; i++) {
                seed = seed * 1103515245u + 12345u;
                a[i] = (uint8_t)(i / 64 + (seed >> 29));
            }
            ref_shuffle(ts, len, a, r);
            zf_blosc_shuffle(ts, len, a, o);
            zf_blosc_unshuffle(ts, len, o, u);
            if (memcmp(o, r, len) || memcmp(u, a, len))
                bad++, printf("shuffle %zu %zu\n", ts, len);
            ref_bitshuffle(ts, len, a, r);
            zf_blosc_bitshuffle(ts, len, a, o);
            zf_blosc_bitunshuffle(ts, len, o, u);
            if (memcmp(o, r, len) || memcmp(u, a, len))
                bad++, printf("bitshuffle %zu %zu\n", ts, len);
            for (int sh = 0; sh < 3; sh++) {  /* whole chunks: the decoder's scratch paths */
                size_t elen = 0, dlen = 0;
                if (zf_blosc1_encode(ZF_BLOSC_LZ4, 5, sh, ts, 256, a, len, e, len + 16, &elen) ||
                    (len && (zf_blosc_decode(e, elen, x, len, &dlen) || dlen != len ||
                             memcmp(x, a, len))))
                    bad++, printf("chunk %d %zu %zu\n", sh, ts, len);
            }
            free(a); free(r); free(o); free(u); free(e); free(x);
        }
    }
    printf("mismatches: %d\n", bad);
    return bad != 0;
}
"""


def _blosc2_paths() -> tuple[str, str] | None:
    spec = importlib.util.find_spec("blosc2")
    for loc in (spec.submodule_search_locations or []) if spec else []:
        inc, lib = Path(loc) / "include", Path(loc) / "lib" / "libblosc2.a"
        if (inc / "blosc2.h").is_file() and lib.is_file():
            return str(inc), str(lib)
    return None


@pytest.mark.parametrize("variant", ["default", "ZF_NO_AVX2", "ZF_NO_SIMD"])
def test_c_kernels_every_simd_path(variant: str, tmp_path: Path) -> None:
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()
    paths = _blosc2_paths()
    if shutil.which(cc[0]) is None or paths is None:
        pytest.skip("needs a C compiler and the blosc2 wheel's static library")
    csrc = Path(__file__).resolve().parents[2] / "csrc"
    (tmp_path / "check.c").write_text(_C_CHECK)
    defines = [] if variant == "default" else [f"-D{variant}"]
    exe = tmp_path / "check"
    flags = ["-O2", "-std=c99", "-D_POSIX_C_SOURCE=200809L", *defines, f"-I{csrc}", f"-I{paths[0]}"]
    sources = [str(tmp_path / "check.c"), str(csrc / "zf_blosc1.c"), paths[1]]
    libs = ["-lzstd", "-llz4", "-lz", "-lpthread", "-lm", "-ldl"]
    cmd = [*cc, *flags, *sources, *libs, "-o", str(exe)]
    build = subprocess.run(cmd, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
