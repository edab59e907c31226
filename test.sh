#!/usr/bin/env bash
# Runs the whole check: set-up, ruff, mypy --strict, and the test suite. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh test
echo "== ruff" && .venv/bin/ruff check .
echo "== mypy --strict" && .venv/bin/mypy
echo "== import layers and cycles" && .venv/bin/lint-imports --no-cache
# Four workers on two cores: the long tests mostly wait on wall-clock peers (a slot coming, a
# broker coming back), so they overlap; worksteal keeps the long ones from queuing at the end.
# `./test.sh -n 0 tests/test_x.py` runs in one process.
echo "== pytest" && exec .venv/bin/pytest -q -n 4 --dist worksteal "$@"
