#!/usr/bin/env bash
# Set up everything zarrfast needs on a fresh Debian machine, idempotently:
#   1. system headers for the C extension (zstd, lz4, zlib, libdeflate, bz2) via apt;
#   2. a virtual environment at .venv with zarrfast installed editable plus its test and
#      benchmark extras (build requirements, including blosc2's static library, come
#      from PyPI through pip's build isolation).
# Usage: bash scripts/setup.sh        (ZARRFAST_VENV overrides the venv location)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${ZARRFAST_VENV:-.venv}"
PY="${PYTHON:-python3}"

need_pkgs=()
for pkg in libzstd-dev liblz4-dev zlib1g-dev libdeflate-dev libbz2-dev pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_pkgs+=("$pkg")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${need_pkgs[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating virtual environment $VENV"
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
EXTRAS="${ZARRFAST_EXTRAS:-test,bench}"
echo "setup: installing zarrfast[$EXTRAS] (editable) into $VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[${EXTRAS}]"
# Servers and SDKs for the remote-store tests (moto, GCS emulator, Azurite, nx-27017).
if [ -f scripts/setup_servers.sh ] && [ "${ZARRFAST_SKIP_SERVERS:-0}" != 1 ]; then
  bash scripts/setup_servers.sh "$VENV"
fi
echo "setup: done ($("$VENV/bin/python" -c 'import zarrfast, sys; print("zarrfast", zarrfast.__version__, "python", sys.version.split()[0])'))"
