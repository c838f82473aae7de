#!/usr/bin/env bash
# Build the native extensions with AddressSanitizer + UndefinedBehaviorSanitizer in a
# scratch copy of the tree and run the native tests and native fuzzers under them.
#
#   scripts/asan.sh                      # default: tests/test_native + fuzz_native
#   scripts/asan.sh tests/reliability    # any pytest arguments instead
#   ZARRFAST_FUZZ_EXAMPLES=5000 scripts/asan.sh   # longer fuzzing under ASan
#
# The in-place build in the working tree is never touched (others keep using it): the
# sources are copied to $ASAN_DIR (default: a fresh temp dir) and built there.
# Details and how to read a report: docs/sanitizers.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python}"
CC="${CC:-gcc}"
ASAN_DIR="${ASAN_DIR:-$(mktemp -d -t zarrfast-asan.XXXXXX)}"
SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"

LIBASAN="$($CC -print-file-name=libasan.so)"
LIBUBSAN="$($CC -print-file-name=libubsan.so)"
if [[ ! -e "$LIBASAN" ]]; then
    echo "asan.sh: $CC has no libasan.so (install libasan / gcc's sanitizer runtime)" >&2
    exit 2
fi

echo "asan.sh: copying sources to $ASAN_DIR"
mkdir -p "$ASAN_DIR"
# Sources only: no build products, no caches, no data written by tests.
tar -C "$ROOT" --exclude='./build' --exclude='*.so' --exclude='__pycache__' \
    --exclude='.git' --exclude='.hypothesis' --exclude='./bench' \
    -cf - setup.py pyproject.toml csrc zarrfast tests | tar -C "$ASAN_DIR" -xf -

echo "asan.sh: building with $SAN"
(
    cd "$ASAN_DIR"
    CC="$CC" CFLAGS="$SAN -g -O1" LDFLAGS="$SAN" \
        "$PY" setup.py build_ext --inplace -q --force
)

if [[ $# -eq 0 ]]; then
    set -- tests/test_native tests/reliability/test_fuzz_native.py
fi

echo "asan.sh: running pytest $* under ASan+UBSan"
cd "$ASAN_DIR"
# detect_leaks=0: CPython's own allocations are reported as leaks at exit.
# The interpreter is not instrumented, so the runtime must be preloaded.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export PYTHONPATH="$ASAN_DIR"
export PYTHONMALLOC=malloc   # let ASan see every Python allocation too
set +e
LD_PRELOAD="$LIBASAN:$LIBUBSAN" "$PY" -m pytest -q -p no:cacheprovider "$@"
status=$?
echo "asan.sh: pytest exit status $status (scratch tree left in $ASAN_DIR)"
exit $status
