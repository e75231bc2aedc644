#!/usr/bin/env bash
# The whole test suite: lint, then pytest (unit + end to end through the local engine over HTTP).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
