#!/usr/bin/env bash
# The main job: set everything up, then write and read a real array (hundreds of MB) on the
# embedded default store and print what was done and the throughput.
# Usage: bash scripts/run.sh [zarrfast bench options, e.g. --size-mb 512 --store filesystem]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV="${ZARRFAST_VENV:-.venv}"
exec "$VENV/bin/python" -m zarrfast bench "$@"
