#!/usr/bin/env bash
# Creates .venv in the repo root with Airflow, the provider (editable), the local engine's media
# stack, the test tools and the docs builder. Safe to re-run: pip skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[local,test,docs]"
.venv/bin/python -m pip check
