"""VideoDetext: captions gone inside region and time; everything else as in the source."""

from __future__ import annotations

import av
import pytest

from tests.mediagen.video import CaptionVideo, caption_video, decode, psnr

pytestmark = pytest.mark.slow

CUES = [(0.4, 1.8, "Hello from the local engine"), (2.2, 3.6, "Captions at known times")]


@pytest.fixture(scope="module")
def captions(tmp_path_factory: pytest.TempPathFactory) -> CaptionVideo:
    return caption_video(tmp_path_factory.mktemp("detext") / "cap.mp4", CUES, seconds=4.4, tone=True)


def test_captions_removed_in_range_only(captions: CaptionVideo, run_algorithm) -> None:
    # Time covers the first cue and half of the second: the second must stay after 3.0 s.
    result = run_algorithm("VideoDetext", captions.path, {"Time": [0, 3.0]})
    assert result.result == {}
    out = decode(result.outputs[0].path)
    src, clean = decode(captions.path), decode(captions.clean)
    assert len(out) == len(src) == len(clean)
    fps = captions.fps
    worst_in, worst_out, before = 99.0, 99.0, 99.0
    for i, frame in enumerate(out):
        t = i / fps
        for (start, end, _), (x, y, w, h) in zip(captions.cues, captions.boxes, strict=True):
            if start <= t < end and t <= 3.0:
                box = (slice(y, y + h), slice(x, x + w))
                worst_in = min(worst_in, psnr(frame[box], clean[i][box]))
                before = min(before, psnr(src[i][box], clean[i][box]))
        if t > 3.0 + 1 / fps:
            worst_out = min(worst_out, psnr(frame, src[i]))
    print(f"detext: caption box PSNR vs clean {before:.1f} -> {worst_in:.1f} dB (worst frame); "
          f"outside Time PSNR vs source {worst_out:.1f} dB")  # fmt: skip
    assert before < 20
    assert worst_in >= 30
    assert worst_out >= 40
    # the second caption is still there after the range ends
    x, y, w, h = captions.boxes[1]
    i = round(3.3 * fps)
    assert psnr(out[i][y : y + h, x : x + w], clean[i][y : y + h, x : x + w]) < 20
    with av.open(str(result.outputs[0].path)) as c:
        assert c.streams.audio


def test_outside_region_untouched(captions: CaptionVideo, run_algorithm) -> None:
    # region = top half: the captions (bottom) must stay, the picture must match the source
    result = run_algorithm("VideoDetext", captions.path, {"LimitRegion": [[0, 0, 1, 0.5]]})
    out, src = decode(result.outputs[0].path), decode(captions.path)
    worst = min(psnr(a, b) for a, b in zip(out, src, strict=True))
    print(f"detext top-half region: PSNR vs source {worst:.1f} dB")
    assert worst >= 40


def test_two_ranges_with_new_model(captions: CaptionVideo, run_algorithm) -> None:
    result = run_algorithm("VideoDetext", captions.path, {"Time": [[0.3, 1.9], [3.7, 4.4]]},
                           model_id="algo-video-detext-new")  # fmt: skip
    out, clean, src = decode(result.outputs[0].path), decode(captions.clean), decode(captions.path)
    x, y, w, h = captions.boxes[0]
    i = round(1.0 * captions.fps)
    assert psnr(out[i][y : y + h, x : x + w], clean[i][y : y + h, x : x + w]) >= 30
    i = round(3.0 * captions.fps)  # second cue is outside both ranges
    assert psnr(out[i], src[i]) >= 40
