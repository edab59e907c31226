#!/usr/bin/env bash
# Runs the whole check: set-up, ruff, mypy --strict, and the test suite. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh test
echo "== ruff" && .venv/bin/ruff check .
echo "== mypy --strict" && .venv/bin/mypy
echo "== import layers and cycles" && .venv/bin/lint-imports --no-cache
echo "== pytest" && exec .venv/bin/pytest -q "$@"
