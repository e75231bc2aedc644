"""How long a job of each algorithm is expected to take, from the local engine's benchmarks.

The trigger uses the estimate only to decide *when* to poll (sparsely while a job cannot be done yet,
every ``poll_interval`` once it may be): a wrong estimate costs latency or a few Queries, never a
result. Figures are the wall-clock "x real time" medians of ``bench/README.md`` on the 2-core reference
machine, rounded down (an early poll is cheap, a late one costs latency); the cloud runs these on other
hardware, so the trigger treats them as a hint with a wide window.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Speed:
    """``overhead_s`` per job (queueing, worker start, upload) plus ``per_unit_s`` per media second
    (audio/video) or per image."""

    overhead_s: float
    per_unit_s: float


# Media seconds processed per wall second -> per_unit_s = 1 / factor. Sources: bench/README.md tables.
_OVERHEAD_S = 2.0  # Submit -> Success of a 1 s job is 1.4-2.3 s, mostly worker start-up
SPEEDS: dict[str, Speed] = {
    "SpeechDenoise": Speed(_OVERHEAD_S, 1 / 5.7),  # DTLN + OM-LSA: 5.7x at load 9.8 (22x CPU)
    "AudioQualityAssessment": Speed(_OVERHEAD_S, 1 / 66),
    "AudioBeatDetection": Speed(_OVERHEAD_S, 1 / 15.6),
    "MusicSegmentDetect": Speed(_OVERHEAD_S, 1 / 12.6),
    "MusicDemix": Speed(_OVERHEAD_S, 1 / 1.4),
    "AudioMixing": Speed(_OVERHEAD_S, 1 / 6.0),
    "ASR": Speed(_OVERHEAD_S, 1 / 2.91),  # Whisper base int8
    "CaptionExtraction": Speed(_OVERHEAD_S, 1 / 4.7),  # 4.71-5.97x at load ~5
    "HybridCaptionExtraction": Speed(_OVERHEAD_S, 1 / 1.5),  # OCR plus ASR on the same input
    "Cover": Speed(_OVERHEAD_S, 1 / 5.1),
    "VideoClip": Speed(_OVERHEAD_S, 1 / 3.2),
    "VideoDelogo": Speed(_OVERHEAD_S, 1 / 1.5),
    "VideoDetext": Speed(_OVERHEAD_S, 1 / 1.6),
    "VideoGreenScreenMatting": Speed(_OVERHEAD_S, 1 / 1.4),
    "FaceBeauty": Speed(_OVERHEAD_S, 1 / 0.95),
    "VideoH2V": Speed(_OVERHEAD_S, 1 / 1.16),
    "VideoSplit": Speed(_OVERHEAD_S, 1 / 6.0),
    # images: seconds per image at 1080p-ish sizes
    "ImageMatting": Speed(_OVERHEAD_S, 1 / 1.24),
    "ImageH2V": Speed(_OVERHEAD_S, 1 / 3.5),
    "ImageDelogo": Speed(_OVERHEAD_S, 1 / 1.96),
    "ImageCartoonize": Speed(_OVERHEAD_S, 1 / 0.18),
    # text: a few seconds of speech per request; the text length is not known before the job runs
    "TextToSpeech": Speed(_OVERHEAD_S + 1.0, 0.0),
    "AsyncTextToSpeech": Speed(_OVERHEAD_S + 1.0, 0.0),
}


def expected_seconds(function_name: str, media_seconds: float | None = None) -> float | None:
    """The expected run time of a job, or None when nothing is known about the algorithm.

    ``media_seconds`` is the input's duration (audio/video); images count as one unit. Without it,
    only the fixed overhead is known, which is still a useful lower bound for the first poll.
    """
    speed = SPEEDS.get(function_name)
    if speed is None:
        return None
    units = 1.0 if media_seconds is None else max(float(media_seconds), 0.0)
    return speed.overhead_s + speed.per_unit_s * units
