#!/usr/bin/env bash
# make bench: installs what the harness needs (nginx, wrk, valgrind, matplotlib and py-spy in the
# project's virtualenv, LiteLLM in its own), then runs bench/run.py with the project's
# virtualenv, passing its arguments on (e.g. bash bench/run.sh --quick). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
# LiteLLM pinned: releases of it have been pulled from PyPI after a supply-chain compromise;
# this one predates them. Change it deliberately, not by taking whatever is newest.
LITELLM=${LITELLM:-litellm[proxy]==1.81.13}
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null || ! command -v valgrind >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nginx wrk valgrind
fi
"$VENV/bin/python" -c "import matplotlib" 2>/dev/null || "$VENV/bin/pip" install --quiet matplotlib
# py-spy samples Patchbay's worker for "where the time goes" (root: ptrace is allowed)
[ -x "$VENV/bin/py-spy" ] || "$VENV/bin/pip" install --quiet py-spy==0.4.3
mkdir -p bench/.work
if [ ! -x bench/.work/litellm-venv/bin/litellm ]; then
  python3 -m venv bench/.work/litellm-venv
  bench/.work/litellm-venv/bin/pip install --quiet "$LITELLM" \
    || echo "LiteLLM could not be installed; it will be reported as not available"
fi
exec "$VENV/bin/python" bench/run.py "$@"
