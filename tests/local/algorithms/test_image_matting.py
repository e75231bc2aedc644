"""ImageMatting: alpha IoU against the known mask of generated head-and-shoulders images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from airflow_iprod.local.algorithms.base import AlgorithmError
from tests.mediagen.images import person_image


@pytest.mark.slow
@pytest.mark.parametrize(
    "kw",
    [
        dict(seed=1),
        dict(seed=3, contrast=0, cx=240, head=100),
        dict(seed=4, cx=420, head=90, contrast=30, suit=(150, 90, 40)),
    ],
    ids=["textured", "plain", "busy-blue-suit"],
)
def test_alpha_matches_person(kw: dict, tmp_path: Path, run_algorithm) -> None:
    p = person_image(**kw)
    src = tmp_path / "in.jpg"
    cv2.imwrite(str(src), p.image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    res = run_algorithm("ImageMatting", src, api="mts")
    out = cv2.imread(str(res.outputs[0].path), cv2.IMREAD_UNCHANGED)
    assert out.shape == (*p.image.shape[:2], 4)
    fg = out[:, :, 3] > 127
    iou = float(np.sum(fg & p.mask) / np.sum(fg | p.mask))
    print(f"{kw}: IoU {iou:.4f}")
    assert iou >= 0.93


def test_jpeg_output_refused(tmp_path: Path) -> None:
    from airflow_iprod.local.algorithms import image_matting
    from airflow_iprod.local.algorithms.base import JobContext, OutputTarget

    src = tmp_path / "in.png"
    cv2.imwrite(str(src), person_image(seed=1).image)
    ctx = JobContext(
        function_name="ImageMatting", api="mts", input_path=src, params={}, model_id=None, workdir=tmp_path,
        new_output=lambda **_: OutputTarget(tmp_path / "o.jpg", "oss://b/o.jpg"), fetch=Path,
    )  # fmt: skip
    with pytest.raises(AlgorithmError, match="no alpha"):
        image_matting.run(ctx)
