#!/usr/bin/env bash
# Builds the documentation site into OUT (default docs/_build/html) with warnings as errors, as
# tests/test_docs.py does. The algorithm pages are generated from airflow_iprod.catalog on the way.
# Usage: bash scripts/build_docs.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/_build/html}
# autodoc imports Airflow: keep its home (airflow.cfg) out of ~/airflow unless one is set
export AIRFLOW_HOME=${AIRFLOW_HOME:-$PWD/docs/_build/airflow-home}
mkdir -p "$AIRFLOW_HOME"
.venv/bin/python -m sphinx -W --keep-going -q -b html -d docs/_build/doctrees docs "$OUT"
echo "docs built: $OUT/index.html"
