"""Word error rate for speech-recognition tests (word-level edit distance, rapidfuzz)."""

from __future__ import annotations

import re

from tests.mediagen.metrics_text import edit_distance


def words(text: str) -> list[str]:
    """Lower-case words, punctuation dropped (apostrophes kept: "don't" is one word)."""
    return re.findall(r"[a-z0-9']+", text.lower())


def wer(reference: str, hypothesis: str) -> float:
    """Word errors over reference words (can pass 1.0 when the hypothesis adds many words)."""
    ref = words(reference)
    if not ref:
        raise ValueError("the reference has no words")
    return edit_distance(ref, words(hypothesis)) / len(ref)
