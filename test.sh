#!/usr/bin/env bash
# Runs the whole check: set-up, ruff, the import layers, mypy --strict, and the test suite.
# Arguments go to pytest. Fails if any of them fails.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh test
echo "== ruff" && .venv/bin/ruff check .
echo "== import layers and cycles" && .venv/bin/lint-imports --no-cache
# mypy (a core for about 12 s on a cold cache) checks beside the tests; its verdict is printed
# and counted once they are done.
types_log=$(mktemp)
trap 'rm -f "$types_log"' EXIT
.venv/bin/mypy > "$types_log" 2>&1 &
types_pid=$!
# Four workers on two cores: the long tests mostly wait on wall-clock peers (a slot coming, a
# broker coming back), so they overlap; worksteal keeps the long ones from queuing at the end.
# `./test.sh -n 0 tests/test_x.py` runs in one process.
echo "== pytest"
tests=0
.venv/bin/pytest -q -n 4 --dist worksteal "$@" || tests=$?
echo "== mypy --strict"
types=0
wait "$types_pid" || types=$?
cat "$types_log"
if [ "$tests" -ne 0 ] || [ "$types" -ne 0 ]; then
  echo "test.sh: failed (pytest exit $tests, mypy exit $types)" >&2
  exit 1
fi
