"""Text accuracy measures for caption and speech tests."""

from __future__ import annotations

import unicodedata


def edit_distance(a: list[str] | str, b: list[str] | str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


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
