#!/usr/bin/env bash
# make bench: installs what the harness needs (nginx, wrk, matplotlib, LiteLLM in its own
# virtualenv), then runs bench/run.py with the project's virtualenv. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nginx wrk
fi
"$VENV/bin/pip" install --quiet matplotlib
mkdir -p bench/.work
if [ ! -x bench/.work/litellm-venv/bin/litellm ]; then
  python3 -m venv bench/.work/litellm-venv
  bench/.work/litellm-venv/bin/pip install --quiet 'litellm[proxy]' || echo "LiteLLM could not be installed; it will be reported as not available"
fi
exec "$VENV/bin/python" bench/run.py "$@"
