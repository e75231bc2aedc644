"""Video algorithms end to end through the SDKs, on short generated clips whose truth is known.

Cover, VideoClip, VideoDelogo, VideoDetext, VideoGreenScreenMatting and VideoH2V exist in both APIs:
each runs once through ICE and once through MPS (one of the two carries the full quality check, the
other a lighter real one). FaceBeauty is ICE only, VideoSplit MPS only. Every job is submitted by the
module fixture first so the engine's workers overlap them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from airflow_iprod.local.algorithms import is_available
from tests.local.algorithms.test_face_beauty import face_stats, worst_psnr_outside_faces
from tests.local.e2e.conftest import needs
from tests.mediagen.motion import face_video, panning_subject_video
from tests.mediagen.slides import slide_video
from tests.mediagen.video import (
    caption_video,
    decode,
    green_screen_video,
    logo_video,
    multi_shot_video,
    psnr,
    quality_segments_video,
    smooth_background,
    write_image,
)

pytestmark = pytest.mark.slow

OUT = "oss://media/e2e/video"
CUES = [(0.3, 1.5, "Hello from the local engine"), (1.9, 3.2, "Captions at known times")]


@pytest.fixture(scope="module")
def submitted(jobs: Any, upload: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("e2e-video")
    out: dict[str, Any] = {}

    def put(path: Path) -> str:
        return upload(path, f"e2e/video/in/{path.name}")

    if is_available("Cover"):
        segs = quality_segments_video(tmp / "reel.mp4", size="320x180")
        url = put(segs.path)
        out["cover-ice"] = (
            jobs.submit("ice", "Cover", url, f"{OUT}/cover/{{source}}-{{sequenceId}}.png"),
            segs,
        )
        out["cover-mts"] = (
            jobs.submit("mts", "Cover", url, f"{OUT}/cover-gif/{{source}}-{{timestamp}}-{{sequenceId}}.gif",
                        {"Model": "gif"}),
            segs,
        )  # fmt: skip
    if is_available("VideoClip"):
        plan = [("testsrc2", 1.2), ("mandelbrot", 0.9), ("life", 1.4), ("smpte_scroll", 1.0),
                ("zoneplate", 1.1), ("cellauto", 0.8), ("testsrc_hue", 1.2), ("rgb_scroll", 1.0)]  # fmt: skip
        shots = multi_shot_video(tmp / "shots.mp4", plan, tone=True)
        url = put(shots.path)
        for api in ("mts", "ice"):
            out[f"clip-{api}"] = (
                jobs.submit(api, "VideoClip", url, f"{OUT}/clip-{api}/{{source}}.mp4"),
                shots,
            )
    if is_available("VideoDelogo"):
        logo = logo_video(tmp / "news.mp4", seconds=2.0)
        url = put(logo.path)
        x, y, w, h = logo.box_norm
        box = [[round(x - 0.005, 4), round(y - 0.01, 4), round(w + 0.01, 4), round(h + 0.02, 4)]]
        out["delogo-ice"] = (
            jobs.submit("ice", "VideoDelogo", url, f"{OUT}/delogo/{{source}}-{{timestamp}}.mp4",
                        {"Boxes": json.dumps(box), "LogoModel": "tv"}),
            logo,
        )  # fmt: skip
        out["delogo-mts"] = (
            jobs.submit("mts", "VideoDelogo", url, f"{OUT}/delogo-mps/{{source}}.mp4",
                        {"Logo": json.dumps(box)}),
            logo,
        )  # fmt: skip
    if is_available("VideoDetext"):
        cap = caption_video(tmp / "talk.mp4", CUES, seconds=3.6)
        url = put(cap.path)
        out["detext-ice"] = (
            jobs.submit("ice", "VideoDetext", url, f"{OUT}/detext/{{source}}.mp4", {"Time": [0, 1.7]}),
            cap,
        )
        out["detext-mts"] = (jobs.submit("mts", "VideoDetext", url, f"{OUT}/detext-mps/{{source}}.mp4"), cap)
    if is_available("VideoGreenScreenMatting"):
        screen = green_screen_video(tmp / "studio.mp4", seconds=1.2)
        url = put(screen.path)
        bg = write_image(tmp / "beach.png", smooth_background(800, 600, 3.0))
        bg_url = put(bg)
        out["green-ice"] = (
            jobs.submit("ice", "VideoGreenScreenMatting", url, f"{OUT}/green/{{source}}.webm"),
            screen,
        )
        out["green-mts"] = (
            jobs.submit("mts", "VideoGreenScreenMatting", url, f"{OUT}/green-mps/{{source}}.mp4",
                        {"bgimage": bg_url}),
            (screen, bg),
        )  # fmt: skip
    if is_available("FaceBeauty"):
        face = face_video(tmp / "vlog.mp4", seconds=1.6)
        out["beauty"] = (
            jobs.submit("ice", "FaceBeauty", put(face.path), f"{OUT}/beauty/{{source}}-{{timestamp}}.mp4",
                        {"beauty_params": "smooth=100"}),
            face,
        )  # fmt: skip
    if is_available("VideoH2V"):
        pan = panning_subject_video(tmp / "walk.mp4")  # 6 s: the pace the bar is set for
        url = put(pan.path)
        for api in ("ice", "mts"):
            out[f"h2v-{api}"] = (jobs.submit(api, "VideoH2V", url, f"{OUT}/h2v-{api}/{{source}}.mp4"), pan)
    if is_available("VideoSplit"):
        show = slide_video(tmp / "lecture.mp4", plan=(2.2, 2.0, 2.4, 1.8), fade_after=1)
        out["split"] = (
            jobs.submit("mts", "VideoSplit", put(show.path), f"{OUT}/split/{{source}}-{{sequenceId}}.mp4"),
            show,
        )
    return out


def _kind_at(segments: list[tuple[str, float, float]], t: float, margin: float = 0.08) -> str:
    for kind, a, b in segments:
        if a + margin <= t < b - margin:
            return kind
    return "boundary"


@needs("Cover")
def test_cover_png_picks_sharp_frames(jobs: Any, submitted: dict, tmp_path: Path) -> None:
    job, segs = submitted["cover-ice"]
    body = jobs.wait(job)
    urls = jobs.outputs(job)
    assert urls == [f"{OUT}/cover/reel-{i:05d}.png" for i in (1, 2, 3)]
    picks = job.result
    assert [set(p) for p in picks] == [{"Score", "Time", "Url"}] * 3
    assert [p["Url"] for p in picks] == body["OutputFiles"]  # Url is the file's own path
    assert all(isinstance(p["Time"], str) and isinstance(p["Score"], float) for p in picks)
    times = [float(p["Time"]) / 1000 for p in picks]
    kinds = [_kind_at(segs.segments, t) for t in times]
    print(f"E2E Cover (ice): picks at {[round(t, 2) for t in times]} s -> {kinds}")
    assert kinds == ["sharp"] * 3
    frames = decode(segs.path)
    for url, t in zip(urls, times, strict=True):
        image = cv2.imread(str(jobs.download(url, tmp_path / Path(url).name)))
        assert psnr(image, frames[round(t * 25)]) > 40  # the PNG is the frame at the reported time


@needs("Cover")
def test_cover_gif_through_mps(jobs: Any, submitted: dict, tmp_path: Path) -> None:
    from PIL import Image

    job, segs = submitted["cover-mts"]
    jobs.wait(job)
    urls = jobs.outputs(job)
    assert [u.rsplit("-", 1)[-1] for u in urls] == ["00001.gif", "00002.gif", "00003.gif"]
    times = [float(p["Time"]) / 1000 for p in job.result]
    assert [p["Url"] for p in job.result] == urls
    assert [_kind_at(segs.segments, t) for t in times] == ["sharp"] * 3
    with Image.open(jobs.download(urls[0], tmp_path / "c.gif")) as gif:
        assert gif.format == "GIF" and gif.is_animated


def _whole_shot_summary(jobs: Any, job: Any, shots: Any, tmp_path: Path) -> float:
    path = jobs.only_output(job, tmp_path)
    summary = job.result["VideoSummaryList"]
    assert summary and all(set(s) == {"StartTime", "EndTime"} for s in summary)
    assert all(isinstance(s["StartTime"], str) and isinstance(s["EndTime"], str) for s in summary)
    picked, on_bounds = 0.0, 0
    tol = 1 / shots.fps + 0.006
    for seg in summary:
        a, b = float(seg["StartTime"]), float(seg["EndTime"])
        on_bounds += any(abs(a - s) <= tol and abs(b - e) <= tol for s, e in shots.shot_ranges)
        picked += b - a
    total = shots.frame_count / shots.fps
    frames = decode(path)
    with av.open(str(path)) as c:
        assert c.streams.audio and c.streams.video[0].codec_context.name == "h264"
    print(f"E2E VideoClip ({job.api}): {len(summary)} segments, {on_bounds} on shot bounds, "
          f"{picked:.2f} of {total:.2f} s, {len(frames)} frames")  # fmt: skip
    assert on_bounds == len(summary)  # whole shots only
    assert 0 < picked < total
    assert abs(len(frames) - round(picked * shots.fps)) <= 2
    return picked


@needs("VideoClip")
@pytest.mark.parametrize("api", ["mts", "ice"])
def test_video_clip_whole_shots(jobs: Any, submitted: dict, tmp_path: Path, api: str) -> None:
    job, shots = submitted[f"clip-{api}"]
    _whole_shot_summary(jobs, job, shots, tmp_path)


def _box_psnr(a: list[np.ndarray], b: list[np.ndarray], box: tuple[int, int, int, int]) -> float:
    x, y, w, h = box
    assert len(a) == len(b)
    return min(psnr(fa[y : y + h, x : x + w], fb[y : y + h, x : x + w]) for fa, fb in zip(a, b, strict=True))


@needs("VideoDelogo")
@pytest.mark.parametrize("api", ["ice", "mts"])
def test_video_delogo_box_psnr(jobs: Any, submitted: dict, tmp_path: Path, api: str) -> None:
    job, logo = submitted[f"delogo-{api}"]
    out = decode(jobs.only_output(job, tmp_path))
    assert job.result == {}
    clean = decode(logo.clean)
    before, after = _box_psnr(decode(logo.path), clean, logo.box), _box_psnr(out, clean, logo.box)
    print(f"E2E VideoDelogo ({api}): PSNR in logo box {before:.1f} -> {after:.1f} dB (worst frame)")
    assert before < 20 and after >= 30


@needs("VideoDetext")
def test_video_detext_in_time_only(jobs: Any, submitted: dict, tmp_path: Path) -> None:
    job, cap = submitted["detext-ice"]
    out = decode(jobs.only_output(job, tmp_path))
    assert job.result == {}
    src, clean = decode(cap.path), decode(cap.clean)
    assert len(out) == len(src)
    (a0, b0, _), box0 = cap.cues[0], cap.boxes[0]
    inside = [i for i in range(len(out)) if a0 <= i / cap.fps < b0]
    worst_in = _box_psnr([out[i] for i in inside], [clean[i] for i in inside], box0)
    after = [i for i in range(len(out)) if i / cap.fps > 1.7 + 1 / cap.fps]
    worst_out = min(psnr(out[i], src[i]) for i in after)
    print(
        f"E2E VideoDetext (ice): caption box PSNR vs clean {worst_in:.1f} dB; after Time {worst_out:.1f} dB"
    )
    assert worst_in >= 30 and worst_out >= 40


@needs("VideoDetext")
def test_video_detext_default_region_mps(jobs: Any, submitted: dict, tmp_path: Path) -> None:
    job, cap = submitted["detext-mts"]
    out, clean = decode(jobs.only_output(job, tmp_path)), decode(cap.clean)
    worst = 99.0
    for (a, b, _), box in zip(cap.cues, cap.boxes, strict=True):
        idx = [i for i in range(len(out)) if a <= i / cap.fps < b]
        worst = min(worst, _box_psnr([out[i] for i in idx], [clean[i] for i in idx], box))
    print(f"E2E VideoDetext (mts): caption box PSNR vs clean {worst:.1f} dB (every cue, worst frame)")
    assert worst >= 30


@needs("VideoGreenScreenMatting")
def test_green_screen_alpha_iou(jobs: Any, submitted: dict, tmp_path: Path) -> None:
    job, screen = submitted["green-ice"]
    path = jobs.only_output(job, tmp_path)
    with av.open(str(path)) as c:
        assert c.streams.video[0].codec_context.name == "vp9"
    frames = decode(path, fmt="bgra", decoder="libvpx-vp9")
    assert len(frames) == len(screen.masks)
    ious = [
        float(((f[..., 3] > 127) & m).sum() / max(1, ((f[..., 3] > 127) | m).sum()))
        for f, m in zip(frames, screen.masks, strict=True)
    ]
    print(f"E2E VideoGreenScreenMatting (ice): alpha IoU min {min(ious):.4f} mean {np.mean(ious):.4f}")
    assert min(ious) >= 0.98


@needs("VideoGreenScreenMatting")
def test_green_screen_composite_mps(jobs: Any, submitted: dict, tmp_path: Path) -> None:
    from airflow_iprod.local.algorithms.video_green_screen_matting import cover_resize

    job, (screen, bg) = submitted["green-mts"]
    frames = decode(jobs.only_output(job, tmp_path))
    expected = cover_resize(cv2.imread(str(bg)), *screen.size)
    kernel = np.ones((7, 7), np.uint8)
    worst = min(
        psnr(f[inner], expected[inner])
        for f, m in zip(frames, screen.masks, strict=True)
        if (inner := cv2.erode((~m).astype(np.uint8), kernel) > 0).any()
    )
    print(f"E2E VideoGreenScreenMatting (mts): background PSNR {worst:.1f} dB (worst frame)")
    assert worst >= 30


@needs("FaceBeauty")
def test_face_beauty_smooths_faces_only(jobs: Any, submitted: dict, tmp_path: Path) -> None:
    job, face = submitted["beauty"]
    out, src = decode(jobs.only_output(job, tmp_path)), decode(face.path)
    assert len(out) == len(src)
    worst_outside = worst_psnr_outside_faces(out, src, face.face_boxes)
    # The direct test's measure: skin texture on cheeks and forehead (eyes and mouth stay sharp by design).
    _, hf_src = face_stats(src, face.face_boxes)
    _, hf_out = face_stats(out, face.face_boxes)
    ratio = hf_out / hf_src
    print(f"E2E FaceBeauty (ice): skin texture x{ratio:.2f}, "
          f"worst PSNR outside faces {worst_outside:.1f} dB")  # fmt: skip
    assert ratio < 0.6 and worst_outside >= 40


def _crop_offsets(out: list[np.ndarray], src: list[np.ndarray]) -> list[int]:
    """Where each portrait frame was cut from its source frame (best match along x)."""
    xs = []
    for o, s in zip(out, src, strict=True):
        score = cv2.matchTemplate(cv2.cvtColor(s, cv2.COLOR_BGR2GRAY), cv2.cvtColor(o, cv2.COLOR_BGR2GRAY),
                                  cv2.TM_SQDIFF)  # fmt: skip
        xs.append(int(np.argmin(score[0])))
    return xs


@needs("VideoH2V")
@pytest.mark.parametrize("api", ["ice", "mts"])
def test_video_h2v_keeps_subject_in_frame(jobs: Any, submitted: dict, tmp_path: Path, api: str) -> None:
    job, pan = submitted[f"h2v-{api}"]
    path = jobs.only_output(job, tmp_path)
    assert job.result == {}
    out, src = decode(path), decode(pan.path)
    assert len(out) == len(src)
    h, w = out[0].shape[:2]
    assert h == pan.size[1] and abs(w / h - 9 / 16) < 0.01
    with av.open(str(path)) as c:
        assert c.streams.audio
    inside = [x0 - 2 <= bx and bx + bw <= x0 + w + 2
              for x0, (bx, _, bw, _) in zip(_crop_offsets(out, src), pan.boxes, strict=True)]  # fmt: skip
    share = float(np.mean(inside))
    print(f"E2E VideoH2V ({api}): subject inside the portrait frame in {100 * share:.1f}% of frames")
    assert share >= 0.95


@needs("VideoSplit")
def test_video_split_cuts_at_slide_changes(jobs: Any, submitted: dict, tmp_path: Path) -> None:
    job, show = submitted["split"]
    jobs.wait(job)
    urls = jobs.outputs(job)
    clips = job.result["Clips"]
    assert [c["Url"] for c in clips] == urls
    assert urls == [f"{OUT}/split/lecture-{i:05d}.mp4" for i in range(len(show.changes) + 1)]
    bounds = [c["EndTime"] for c in clips[:-1]]
    errors = [abs(a - b) for a, b in zip(bounds, show.changes, strict=True)]
    assert clips[0]["StartTime"] == 0 and clips[-1]["EndTime"] == pytest.approx(show.duration, abs=0.1)
    durations = []
    for url in urls:
        with av.open(str(jobs.download(url, tmp_path / Path(url).name))) as c:
            durations.append(float(c.duration or 0) / 1e6)
    print(
        f"E2E VideoSplit (mts): boundaries {bounds} vs truth {show.changes}, worst error {max(errors):.2f} s"
    )
    assert max(errors) <= 0.25
    assert all(
        abs(d - (c["EndTime"] - c["StartTime"])) <= 0.15 for d, c in zip(durations, clips, strict=True)
    )
