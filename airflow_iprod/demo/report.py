"""The flagship DAG's readable summary: what the captions say and how far the noise floor dropped.

Works on any recording (no ground truth needed): the noise floor is measured on the *input's* quietest
frames — where there is no speech, only noise — in the input and in the cleaned output alike.
numpy/soundfile are imported inside the functions (DAG files import this module lazily, from a task).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FRAME_S = 0.02  # 20 ms frames
QUIET_SHARE = 0.2  # the input's quietest 20% of frames stand for "noise only"


@dataclass
class NoiseFloor:
    input_dbfs: float
    output_dbfs: float

    @property
    def drop_db(self) -> float:
        return self.input_dbfs - self.output_dbfs


def noise_floor(noisy_wav: str | Path, cleaned_wav: str | Path) -> NoiseFloor:
    """Mean level (dBFS) of the input's quietest frames, before and after cleaning."""
    import numpy as np
    import soundfile as sf

    noisy, rate = sf.read(str(noisy_wav), always_2d=True)
    cleaned, out_rate = sf.read(str(cleaned_wav), always_2d=True)
    if out_rate != rate:
        raise ValueError(f"sample rates differ: input {rate} Hz, output {out_rate} Hz")
    frame = max(1, int(rate * FRAME_S))
    count = min(len(noisy), len(cleaned)) // frame
    if count < 5:
        raise ValueError(f"too short to measure a noise floor: {count} frames of {FRAME_S * 1000:g} ms")

    def frame_power(x: np.ndarray) -> np.ndarray:
        mono = x[: count * frame].mean(axis=1)
        return (mono.reshape(count, frame) ** 2).mean(axis=1)

    before, after = frame_power(noisy), frame_power(cleaned)
    quiet = np.argsort(before)[: max(1, int(count * QUIET_SHARE))]

    def dbfs(power: np.ndarray) -> float:
        return float(10 * np.log10(max(float(power[quiet].mean()), 1e-12)))

    return NoiseFloor(dbfs(before), dbfs(after))


def srt_lines(text: str) -> list[tuple[str, str]]:
    """(time range, caption text) of each SRT cue."""
    cues: list[tuple[str, str]] = []
    for block in text.replace("\r\n", "\n").strip().split("\n\n"):
        lines = [line.strip() for line in block.strip().splitlines()]
        if len(lines) >= 3 and "-->" in lines[1]:
            cues.append((lines[1], " ".join(lines[2:])))
    return cues


def summary_text(
    out_dir: str | Path, files: dict[str, str], cues: list[tuple[str, str]], floor: NoiseFloor | None
) -> str:
    lines = [f"Deliverables in {out_dir}:"]
    lines += [f"  {label:<12} {path}" for label, path in files.items()]
    if floor is not None:
        lines.append(
            f"Narration noise floor: {floor.input_dbfs:.1f} dBFS -> {floor.output_dbfs:.1f} dBFS "
            f"({floor.drop_db:.1f} dB lower; the input's quietest {QUIET_SHARE:.0%} of "
            f"{FRAME_S * 1000:g} ms frames)"
        )
    lines.append(f"Captions read from the video ({len(cues)} cues):")
    lines += [f"  {span}  {text}" for span, text in cues]
    return "\n".join(lines)
