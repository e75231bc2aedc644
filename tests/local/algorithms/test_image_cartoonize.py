"""ImageCartoonize: few flat colours, and the input's edges kept."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.mediagen.images import astronaut, person_image


def edge_scores(found: np.ndarray, truth: np.ndarray, tol: int = 2) -> tuple[float, float, float]:
    """(precision, recall, F) of edge maps with a ``tol``-pixel match distance."""
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * tol + 1, 2 * tol + 1))
    p = np.sum((found > 0) & (cv2.dilate(truth, k) > 0)) / max(1, np.sum(found > 0))
    r = np.sum((truth > 0) & (cv2.dilate(found, k) > 0)) / max(1, np.sum(truth > 0))
    return float(p), float(r), float(2 * p * r / (p + r)) if p + r else 0.0


@pytest.mark.slow
def test_flat_colours_and_edges_kept(tmp_path: Path, run_algorithm) -> None:
    for name, img in {"astronaut": astronaut(), "person": person_image(seed=3).image}.items():
        src = tmp_path / f"{name}.png"
        cv2.imwrite(str(src), img)
        res = run_algorithm("ImageCartoonize", src, api="mts")
        out = cv2.imread(str(res.outputs[0].path))
        assert out.shape == img.shape
        n_in = len(np.unique(img.reshape(-1, 3), axis=0))
        n_out = len(np.unique(out.reshape(-1, 3), axis=0))
        edges_in = cv2.Canny(cv2.GaussianBlur(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), (5, 5), 0), 100, 200)
        edges_out = cv2.Canny(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY), 100, 200)
        p, r, f = edge_scores(edges_out, edges_in)
        print(f"{name}: colours {n_in} -> {n_out}; edges P {p:.2f} R {r:.2f} F {f:.2f}")
        assert n_out <= 32 and n_out * 100 < n_in
        assert r >= 0.9 and f >= 0.5
