#!/usr/bin/env bash
# Install the local test servers for the remote storage backends (issue #5).
#
#   bash scripts/setup_servers.sh [VENV]
#
# * pip packages (SDKs + emulators) into VENV (default: the active python);
# * Azurite (Azure Blob emulator) from npm into .servers/node_modules (git-ignored).
# Idempotent and fast when everything is already there (no network then).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-}"
if [[ -n "$VENV" ]]; then
    PY="$VENV/bin/python"
else
    PY="$(command -v python3 || command -v python)"
fi
[[ -x "$PY" ]] || { echo "setup_servers: no python at $PY" >&2; exit 1; }

# SDKs (the zarrfast[s3,gcs,azure,mongo] extras) and the emulators the tests start.
PIP_PKGS=(boto3 "moto[server]" google-cloud-storage gcp-storage-emulator
          azure-storage-blob azure-identity pymongo nx-27017 "s3fs>=2024.1")
# Import names checked first so a re-run does not touch the network.
IMPORTS="boto3, moto.server, google.cloud.storage, gcp_storage_emulator, \
azure.storage.blob, azure.identity, pymongo, gridfs, nx_27017, s3fs"
if ! "$PY" -c "import $IMPORTS" >/dev/null 2>&1; then
    echo "setup_servers: installing ${PIP_PKGS[*]} into $PY"
    "$PY" -m pip install --quiet "${PIP_PKGS[@]}"
fi

# Azurite from npm, pinned to a major version, into a project-local prefix.
SERVERS="$ROOT/.servers"
AZURITE_BIN="$SERVERS/node_modules/.bin/azurite-blob"
if [[ ! -x "$AZURITE_BIN" ]]; then
    if ! command -v npm >/dev/null; then
        echo "setup_servers: npm not found; installing Debian's nodejs and npm"
        SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
    fi
    mkdir -p "$SERVERS"
    [[ -f "$SERVERS/package.json" ]] || echo '{"name":"zarrfast-test-servers","private":true}' > "$SERVERS/package.json"
    [[ -f "$SERVERS/.gitignore" ]] || echo '*' > "$SERVERS/.gitignore"
    echo "setup_servers: npm install azurite into $SERVERS"
    npm install --prefix "$SERVERS" --no-audit --no-fund --loglevel=error "azurite@^3"
fi
echo "setup_servers: ok (azurite: $AZURITE_BIN)"
