#!/usr/bin/env bash
# The test command: set everything up, then run the whole suite (and the benchmark suites
# once each as smoke tests, never timing anything).
# Usage: bash scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV="${ZARRFAST_VENV:-.venv}"
# The native tests importorskip the extensions; a broken build must fail here instead of
# turning them into skips.
"$VENV/bin/python" -c "import zarrfast._native._pipeline, zarrfast._native._codecs" || {
  echo "test: the native extensions do not import (build failed?)" >&2
  exit 1
}
"$VENV/bin/python" -m pytest tests -q -p no:cacheprovider "$@"
if [ -d bench ] && ls bench/test_*.py >/dev/null 2>&1; then
  "$VENV/bin/python" -m pytest bench -q -p no:cacheprovider --benchmark-disable
fi
