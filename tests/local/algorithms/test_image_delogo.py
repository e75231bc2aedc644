"""ImageDelogo: logos in known corner boxes on smooth backgrounds are found and filled."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from airflow_iprod.local.algorithms import image_delogo
from airflow_iprod.local.algorithms.base import AlgorithmError
from tests.mediagen.images import box_iou, logo_image
from tests.mediagen.video import psnr, smooth_background

CASES = [
    ((520, 18, 96, 44), "TV"),
    ((16, 300, 120, 40), "NEWS"),
    ((24, 20, 70, 40), "A1"),
    ((500, 290, 110, 50), "CH5"),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_logo_found_and_removed(case: int, tmp_path: Path, run_algorithm) -> None:
    box, text = CASES[case]
    img, clean = logo_image(box=box, text=text, seed=case)
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), img)
    found = image_delogo.find_logos(img)
    ious = [box_iou(box, (b[0], b[1], b[2] - b[0], b[3] - b[1])) for b in found]
    res = run_algorithm("ImageDelogo", src, api="mts")
    out = cv2.imread(str(res.outputs[0].path))
    x, y, w, h = box
    inside = psnr(out[y : y + h, x : x + w], clean[y : y + h, x : x + w])
    print(
        f"{text}: IoU {max(ious, default=0):.2f}, PSNR in box {inside:.1f} dB, "
        f"whole {psnr(out, clean):.1f} dB"
    )
    assert len(found) == 1 and ious[0] >= 0.5
    assert inside >= 30


def test_clean_image_untouched(tmp_path: Path, run_algorithm) -> None:
    img = smooth_background(640, 360, 0.3)
    src = tmp_path / "clean.png"
    cv2.imwrite(str(src), img)
    res = run_algorithm("ImageDelogo", src, api="mts")
    assert (cv2.imread(str(res.outputs[0].path)) == img).all()


def test_not_an_image(tmp_path: Path, run_algorithm) -> None:
    bad = tmp_path / "x.png"
    bad.write_bytes(b"nope")
    with pytest.raises(AlgorithmError, match="Input: is not a decodable image"):
        run_algorithm("ImageDelogo", bad, api="mts")
