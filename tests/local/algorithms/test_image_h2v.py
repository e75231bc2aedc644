"""ImageH2V: the subject of generated landscape images lies inside the 9:16 crop."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.mediagen.images import subject_image


@pytest.mark.slow
def test_subject_inside_portrait_crop(tmp_path: Path, run_algorithm) -> None:
    inside = 0
    n = 8
    for i in range(n):
        rng = np.random.default_rng(100 + i)
        cx, cy = int(rng.uniform(40, 600)), int(rng.uniform(120, 270))
        s = subject_image(640, 360, cx, cy, seed=100 + i)
        src = tmp_path / f"in{i}.jpg"
        cv2.imwrite(str(src), s.image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        res = run_algorithm("ImageH2V", src, api="mts")
        out = cv2.imread(str(res.outputs[0].path))
        assert out.shape[:2] == (360, 202)
        x0 = int(np.argmin(cv2.matchTemplate(s.image, out, cv2.TM_SQDIFF)[0]))
        bx, _, bw, _ = s.box
        inside += x0 <= bx and bx + bw <= x0 + out.shape[1]
    print(f"subject fully inside the crop in {inside}/{n} images")
    assert inside == n
