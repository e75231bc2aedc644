"""VideoSplit on a generated slide recording: cuts, one fade, a moving cursor and a blinking caret."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_iprod.local.algorithms import _video
from tests.mediagen.slides import slide_video


def f1(found: list[float], truth: list[float], tol: float = 0.5) -> float:
    matched, used = 0, set()
    for t in truth:
        best = min(
            (i for i in range(len(found)) if i not in used), key=lambda i: abs(found[i] - t), default=None
        )
        if best is not None and abs(found[best] - t) <= tol:
            used.add(best)
            matched += 1
    p, r = matched / max(len(found), 1), matched / max(len(truth), 1)
    return 0.0 if matched == 0 else 2 * p * r / (p + r)


@pytest.mark.slow
def test_one_clip_per_slide(tmp_path: Path, run_algorithm) -> None:
    show = slide_video(tmp_path / "slides.mp4")
    res = run_algorithm("VideoSplit", show.path, api="mts")
    clips = res.result["Clips"]
    found = [c["StartTime"] for c in clips[1:]]
    score = f1(found, show.changes)
    print(f"slide changes {found} vs truth {show.changes}: F1 {score:.3f}")
    assert score >= 0.95
    assert [o.sequence_id for o in res.outputs] == list(range(len(clips)))
    assert clips[0]["StartTime"] == 0 and abs(clips[-1]["EndTime"] - show.duration) < 0.1
    for clip, out in zip(clips, res.outputs, strict=True):
        assert clip["Url"] == out.url
        info = _video.probe(out.path)
        assert info.has_audio
        assert abs(info.duration - (clip["EndTime"] - clip["StartTime"])) < 0.25
