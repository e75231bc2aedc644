"""TextToSpeech speed: seconds of speech produced per second of work (x real time), median of 3.

Run from the repo root: ``.venv/bin/python bench/bench_text_to_speech.py``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from airflow_iprod.local.algorithms import text_to_speech
from airflow_iprod.local.algorithms.base import JobContext, OutputTarget
from tests.mediagen import speech


def main() -> None:
    text = " ".join(speech.SENTENCES)  # about 140 words
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("wav", "mp3"):
            out = Path(tmp) / f"speech.{fmt}"

            def new_output(sequence_id=None, result_type=None, ext=None, out=out) -> OutputTarget:
                return OutputTarget(out, f"oss://bench/{out.name}", sequence_id, result_type)

            ctx = JobContext(
                "TextToSpeech",
                "mts",
                Path(tmp) / "none",
                {"text": text, "format": fmt},
                None,
                Path(tmp),
                new_output,
                Path,
            )
            times, duration = [], 0.0
            for _ in range(3):
                start = time.perf_counter()
                duration = text_to_speech.run(ctx).result["Duration"]
                times.append(time.perf_counter() - start)
            median = statistics.median(times)
            print(
                f"TextToSpeech {fmt}: {len(text)} characters -> {duration:.1f} s of speech in {median:.3f} s "
                f"= {duration / median:.0f}x real time"
            )


if __name__ == "__main__":
    main()
