"""VideoClip: shot cuts against known cut frames, and a summary made of whole shots."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from airflow_iprod.local.algorithms import _shots
from tests.mediagen.video import SHOT_SOURCES, MultiShot, decode, multi_shot_video

pytestmark = pytest.mark.slow

TOLERANCE = 2  # frames


def f1(truth: list[int], found: list[int], tol: int = TOLERANCE) -> float:
    unmatched = list(truth)
    hits = 0
    for f in found:
        near = [t for t in unmatched if abs(t - f) <= tol]
        if near:
            unmatched.remove(min(near, key=lambda t: abs(t - f)))
            hits += 1
    if not truth and not found:
        return 1.0
    precision = hits / len(found) if found else 0.0
    recall = hits / len(truth) if truth else 0.0
    return 0.0 if hits == 0 else 2 * precision * recall / (precision + recall)


@pytest.fixture(scope="module")
def twelve_shots(tmp_path_factory: pytest.TempPathFactory) -> MultiShot:
    names = list(SHOT_SOURCES)
    lengths = [1.2, 0.92, 1.4, 1.0, 1.12, 0.8, 1.28, 1.0, 1.2, 0.88, 1.0, 0.8]
    plan = [(names[i % len(names)], sec) for i, sec in enumerate(lengths)]
    return multi_shot_video(tmp_path_factory.mktemp("clip") / "shots.mp4", plan, tone=True)


def test_cut_detection_f1(twelve_shots: MultiShot, tmp_path: Path) -> None:
    det = _shots.detect(twelve_shots.path, threads=2)
    score = f1(twelve_shots.cut_frames, det.cuts())
    print(f"cuts truth={twelve_shots.cut_frames} found={det.cuts()} F1={score:.3f}")
    assert score >= 0.95
    # A second, differently ordered video (repeated sources at other offsets, other sizes).
    plan = [("zoneplate", 1.0), ("testsrc2", 0.6), ("life", 1.4), ("testsrc2_neg", 1.0), ("mandelbrot", 1.6),
            ("smpte_scroll", 0.72), ("testsrc2", 1.0), ("cellauto", 1.0)]  # fmt: skip
    other = multi_shot_video(tmp_path / "other.mp4", plan, size="384x216")
    det2 = _shots.detect(other.path, threads=2)
    score2 = f1(other.cut_frames, det2.cuts())
    print(f"cuts truth={other.cut_frames} found={det2.cuts()} F1={score2:.3f}")
    assert score2 >= 0.95


def test_f1_helper_can_fail() -> None:
    assert f1([10, 50, 90], [10, 30, 90, 120]) < 0.95
    assert f1([10], [13]) == 0.0


def test_summary_is_whole_shots_and_shorter(twelve_shots: MultiShot, run_algorithm) -> None:
    result = run_algorithm("VideoClip", twelve_shots.path)
    summary = result.result["VideoSummaryList"]
    assert summary and all(set(s) == {"StartTime", "EndTime"} for s in summary)
    assert all(isinstance(s["StartTime"], str) for s in summary)
    fps = twelve_shots.fps
    total = twelve_shots.frame_count / fps
    picked = 0.0
    for seg in summary:
        a, b = float(seg["StartTime"]), float(seg["EndTime"])
        # whole shots: both ends on a true shot boundary (within a frame)
        assert any(abs(a - s) <= 1 / fps + 0.006 and abs(b - e) <= 1 / fps + 0.006
                   for s, e in twelve_shots.shot_ranges), (a, b)  # fmt: skip
        picked += b - a
    assert 0 < picked <= 0.31 * total + 1 / fps
    out = result.outputs[0].path
    frames = decode(out)
    assert abs(len(frames) - round(picked * fps)) <= 2, (len(frames), picked * fps)
    with av.open(str(out)) as c:
        assert c.streams.audio, "the source audio track must be kept"
        assert c.streams.video[0].codec_context.name == "h264"
