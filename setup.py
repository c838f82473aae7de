"""Build zarrfast's native extensions.

C-Blosc2 comes from the ``blosc2`` wheel (headers in ``blosc2/include``, the static
``blosc2/lib/libblosc2.a`` linked into the extension so nothing needs ``libblosc2.so`` at
run time).  zstd, lz4, zlib and libdeflate headers/libraries come from the system
(``bash scripts/setup.sh`` installs libzstd-dev liblz4-dev zlib1g-dev libdeflate-dev on
Debian/Ubuntu).

To add an extension, append one entry to ``EXTENSIONS``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from setuptools import Extension, setup

ROOT = Path(__file__).resolve().parent
CSRC = "csrc"

# name -> (Cython source, C sources from csrc/)
EXTENSIONS: list[tuple[str, str, list[str]]] = [
    (
        "zarrfast._native._codecs",
        "zarrfast/_native/_codecs.pyx",
        ["zf_codecs.c", "zf_blosc1.c", "zf_crc32c.c"],
    ),
    (
        "zarrfast._native._pipeline",
        "zarrfast/_native/_pipeline.pyx",
        [
            "zf_pool.c",
            "zf_ndcopy.c",
            "zf_batch.c",
            "zf_partial.c",
            "zf_shard_index.c",
            "zf_shard.c",
            "zf_codecs.c",
            "zf_blosc1.c",
            "zf_crc32c.c",
        ],
    ),
]

# Debian package providing each required system header.
SYSTEM_HEADERS = {
    "zstd.h": "libzstd-dev",
    "lz4.h": "liblz4-dev",
    "zlib.h": "zlib1g-dev",  # zlib/gzip encoding (numcodecs-identical output)
    "libdeflate.h": "libdeflate-dev",  # zlib/gzip decoding
}
SYSTEM_LIBS = ["zstd", "lz4", "z", "deflate", "pthread", "m", "dl"]


def _fail(msg: str) -> None:
    sys.stderr.write(f"\nzarrfast build error: {msg}\n\n")
    raise SystemExit(1)


def find_blosc2() -> tuple[str, str]:
    """Return (include dir, path of libblosc2.a) from the installed blosc2 wheel.

    Uses importlib's finder so blosc2 (and numpy) are not imported just to locate files.
    """
    spec = importlib.util.find_spec("blosc2")
    if spec is None or not spec.submodule_search_locations:
        _fail(
            "the 'blosc2' package (>=3) is required at build time for its C headers and "
            "static library: pip install 'blosc2>=3' (build isolation installs it from "
            "pyproject.toml)."
        )
    for loc in spec.submodule_search_locations:
        pkg = Path(loc)
        inc, lib = pkg / "include", pkg / "lib" / "libblosc2.a"
        if (inc / "blosc2.h").is_file() and lib.is_file():
            return str(inc), str(lib)
    _fail(
        f"blosc2 is installed at {list(spec.submodule_search_locations)} but has no "
        "include/blosc2.h and lib/libblosc2.a; install a blosc2 wheel >= 3."
    )
    raise AssertionError  # unreachable


def check_system_headers() -> None:
    """Compile-probe each required system header; stop with the package to install."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    cc_argv = cc.split()
    if shutil.which(cc_argv[0]) is None:
        _fail(f"no C compiler found ({cc_argv[0]!r}); install build-essential.")
    missing = []
    with tempfile.TemporaryDirectory() as tmp:
        for header, package in SYSTEM_HEADERS.items():
            src = Path(tmp) / "probe.c"
            src.write_text(f"#include <{header}>\nint main(void) {{ return 0; }}\n")
            cflags = os.environ.get("CFLAGS", "").split()
            proc = subprocess.run(
                [*cc_argv, *cflags, "-fsyntax-only", str(src)],
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                missing.append(f"{header} ({package})")
    if missing:
        pkgs = " ".join(SYSTEM_HEADERS[m.split()[0]] for m in missing)
        _fail(
            "missing system headers: " + ", ".join(missing) + ".\n"
            f"  Install them with: sudo apt-get install {pkgs}\n"
            "  or run: bash scripts/setup.sh"
        )


def build_extensions() -> list[Extension]:
    check_system_headers()
    blosc2_include, blosc2_static = find_blosc2()
    exts = []
    for name, pyx, csources in EXTENSIONS:
        exts.append(
            Extension(
                name,
                sources=[pyx, *[f"{CSRC}/{c}" for c in csources]],
                include_dirs=[CSRC, blosc2_include],
                # The archive is passed as an object so it is linked statically; it comes
                # before the -l flags, so its own bundled zstd/lz4 satisfy its internal
                # references (and ours), and --exclude-libs keeps them out of our exports.
                extra_objects=[blosc2_static],
                libraries=SYSTEM_LIBS,
                extra_compile_args=["-O3", "-std=c99", "-fvisibility=hidden"],
                extra_link_args=["-Wl,--exclude-libs,ALL"],
                define_macros=[("_POSIX_C_SOURCE", "200809L")],
            )
        )
    from Cython.Build import cythonize

    return cythonize(
        exts,
        compiler_directives={"language_level": "3", "embedsignature": True},
        include_path=[str(ROOT)],
    )


def _needs_extensions() -> bool:
    # Metadata-only commands (egg_info, sdist, --version...) need no compiler.
    meta_only = {"egg_info", "dist_info", "sdist", "--name", "--version", "clean"}
    args = [a for a in sys.argv[1:] if not a.startswith("-") or a in meta_only]
    return not args or not set(args) <= meta_only


setup(ext_modules=build_extensions() if _needs_extensions() else [])
