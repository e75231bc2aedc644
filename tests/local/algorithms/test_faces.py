"""Face search shared by FaceBeauty, VideoH2V and ImageMatting: tracking between sparse full scans
finds what a full scan of every sample finds, including a face that enters between full scans."""

from __future__ import annotations

from pathlib import Path

from airflow_iprod.local.algorithms import _faces, _video
from tests.mediagen.motion import entering_face_video


def test_tracker_matches_full_scans(tmp_path: Path) -> None:
    path = entering_face_video(tmp_path / "enter.mp4")
    tracker = _faces.FaceTracker(full_every=2.0)
    agree, found, n = 0, 0, 0
    for f in _video.iter_frames(path, rate=4.0):
        tracker.add(f.time, f.image)
    for (t, tracked), f in zip(tracker.samples, _video.iter_frames(path, rate=4.0), strict=True):
        full = _faces.detect(f.image)
        n += 1
        found += bool(full)
        same = len(full) == len(tracked) and all(
            max((_faces.iou(a, b) for b in tracked), default=0.0) > 0.6 for a in full
        )
        agree += same
        if not same:
            print(f"t={t:.2f}: full scan {full}, tracked {tracked}")
    print(
        f"{agree}/{n} samples agree with a full scan ({found} with a face); {tracker.full_scans} full scans"
    )
    assert found >= n // 2  # the clip really has a face most of the time
    assert tracker.full_scans <= n // 4
    assert agree >= n - 1
