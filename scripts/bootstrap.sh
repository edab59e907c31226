#!/usr/bin/env bash
# Installs what broadcastctl needs on a fresh Debian machine: Debian packages (when missing and
# running as root), a virtual environment in .venv and the Python packages from pyproject.toml.
# Usage: scripts/bootstrap.sh run|test
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}

need_debs=()
want() { command -v "$1" >/dev/null 2>&1 || need_debs+=("$2"); }
want ffmpeg ffmpeg
if [ "$mode" = test ]; then
  want mosquitto mosquitto
  want socat socat
  want espeak-ng espeak-ng
  want chromium chromium  # the web console's browser tests (driven by Playwright)
  # a Chinese font, so the console's screenshots show text rather than empty boxes
  [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need_debs+=(fonts-wqy-microhei)
fi
if [ ${#need_debs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing Debian packages: ${need_debs[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_debs[@]}" >/dev/null
  elif [ "$mode" = run ] && [ "${need_debs[*]}" = ffmpeg ]; then
    echo "bootstrap: ffmpeg not found; using the one in the imageio-ffmpeg wheel" \
         "(install Debian's ffmpeg for production: sudo apt-get install ffmpeg)" >&2
  else
    echo "bootstrap: missing Debian packages: ${need_debs[*]}" >&2
    echo "  install them with: sudo apt-get install ${need_debs[*]}" >&2
    exit 1
  fi
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "bootstrap: Python 3.11 or newer is needed (found: $("$python" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv || {
    echo "bootstrap: could not create .venv (on Debian: sudo apt-get install python3-venv)" >&2
    exit 1
  }
fi
extra=""; [ "$mode" = test ] && extra="[test]"
stamp=".venv/.installed-$mode"
digest=$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  echo "bootstrap: installing Python packages into .venv ($mode)" >&2
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".$extra"
  echo "$digest" > "$stamp"
fi
