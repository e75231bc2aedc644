"""Text accuracy measures for caption and speech tests."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from rapidfuzz.distance import Levenshtein


def edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Levenshtein distance (insertion, deletion, substitution: 1 each) over characters or words.

    rapidfuzz's, not a copy of our own: the engine matches captions with its own edit distance, and
    a test must not measure the engine with the engine's code."""
    return Levenshtein.distance(a, b)


def normalise(text: str) -> str:
    """NFKC (full-width forms to ASCII), one space between words, none next to a CJK character."""
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    out = []
    for i, ch in enumerate(text):
        if ch == " " and (_cjk(text[i - 1]) or _cjk(text[i + 1])):
            continue
        out.append(ch)
    return "".join(out)


def _cjk(ch: str) -> bool:
    return "\u3000" <= ch <= "\u9fff"


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: edits (spaces count) / reference characters, after ``normalise``."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    return edit_distance(ref, hyp) / max(1, len(ref))
