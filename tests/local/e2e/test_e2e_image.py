"""Image algorithms (MPS only) end to end through the MPS SDK: ImageMatting, ImageH2V, ImageDelogo and
ImageCartoonize on generated stills with a known mask, subject box and logo box."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from airflow_iprod.local.algorithms import is_available
from tests.local.e2e.conftest import needs
from tests.mediagen.images import astronaut, logo_image, person_image, subject_image
from tests.mediagen.video import psnr

OUT = "oss://media/e2e/image"


@pytest.fixture(scope="module")
def submitted(jobs: Any, upload: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("e2e-image")
    out: dict[str, Any] = {}

    def put(name: str, img: np.ndarray) -> str:
        path = tmp / name
        cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        return upload(path, f"e2e/image/in/{name}")

    if is_available("ImageMatting"):
        person = person_image(seed=1)
        url = put("portrait.jpg", person.image)
        out["matting"] = (
            jobs.submit("mts", "ImageMatting", url, f"{OUT}/matte/{{source}}-{{timestamp}}.png"),
            person,
        )
    if is_available("ImageH2V"):
        subject = subject_image(640, 360, 150, 200, seed=101)
        url = put("landscape.jpg", subject.image)
        out["h2v"] = (jobs.submit("mts", "ImageH2V", url, f"{OUT}/h2v/{{source}}.png"), subject)
    if is_available("ImageDelogo"):
        img, clean = logo_image(box=(520, 18, 96, 44), text="TV")
        url = put("channel.png", img)
        out["delogo"] = (jobs.submit("mts", "ImageDelogo", url, f"{OUT}/delogo/{{source}}.png"), (img, clean))
    if is_available("ImageCartoonize"):
        url = put("astronaut.png", astronaut())
        out["cartoon"] = (
            jobs.submit("mts", "ImageCartoonize", url, f"{OUT}/cartoon/{{source}}.png"),
            astronaut(),
        )
    return out


def _image(jobs: Any, job: Any, tmp_path: Path, flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    path = jobs.only_output(job, tmp_path)
    assert job.result == {}
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return cv2.imread(str(path), flags)


@needs("ImageMatting")
def test_image_matting_alpha_iou(jobs: Any, submitted: dict, tmp_path: Path) -> None:
    job, person = submitted["matting"]
    out = _image(jobs, job, tmp_path, cv2.IMREAD_UNCHANGED)
    assert out.shape == (*person.image.shape[:2], 4)
    fg = out[:, :, 3] > 127
    iou = float(np.sum(fg & person.mask) / np.sum(fg | person.mask))
    print(f"E2E ImageMatting (mts): alpha IoU {iou:.4f}")
    assert iou >= 0.93


@needs("ImageH2V")
def test_image_h2v_subject_inside(jobs: Any, submitted: dict, tmp_path: Path) -> None:
    job, subject = submitted["h2v"]
    out = _image(jobs, job, tmp_path)
    assert out.shape[:2] == (360, 202)
    x0 = int(np.argmin(cv2.matchTemplate(subject.image, out, cv2.TM_SQDIFF)[0]))
    bx, _, bw, _ = subject.box
    print(f"E2E ImageH2V (mts): crop x {x0}..{x0 + out.shape[1]}, subject x {bx}..{bx + bw}")
    assert x0 <= bx and bx + bw <= x0 + out.shape[1]


@needs("ImageDelogo")
def test_image_delogo_box_psnr(jobs: Any, submitted: dict, tmp_path: Path) -> None:
    job, (img, clean) = submitted["delogo"]
    out = _image(jobs, job, tmp_path)
    x, y, w, h = 520, 18, 96, 44
    before = psnr(img[y : y + h, x : x + w], clean[y : y + h, x : x + w])
    after = psnr(out[y : y + h, x : x + w], clean[y : y + h, x : x + w])
    print(f"E2E ImageDelogo (mts): PSNR in logo box {before:.1f} -> {after:.1f} dB")
    assert before < 20 and after >= 30


@needs("ImageCartoonize")
def test_image_cartoonize_flat_colours_edges_kept(jobs: Any, submitted: dict, tmp_path: Path) -> None:
    from tests.local.algorithms.test_image_cartoonize import edge_scores

    job, img = submitted["cartoon"]
    out = _image(jobs, job, tmp_path)
    assert out.shape == img.shape
    n_in = len(np.unique(img.reshape(-1, 3), axis=0))
    n_out = len(np.unique(out.reshape(-1, 3), axis=0))
    edges_in = cv2.Canny(cv2.GaussianBlur(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), (5, 5), 0), 100, 200)
    _, recall, f = edge_scores(cv2.Canny(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY), 100, 200), edges_in)
    print(f"E2E ImageCartoonize (mts): colours {n_in} -> {n_out}; edge recall {recall:.2f}, F {f:.2f}")
    assert n_out <= 32 and n_out * 100 < n_in
    assert recall >= 0.9 and f >= 0.5
