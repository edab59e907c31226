#!/usr/bin/env bash
# Runs the daemon on the shipped config.yaml (set-up included); CONFIG=path picks another.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh run
exec .venv/bin/broadcastctl run --config "${CONFIG:-config.yaml}"
