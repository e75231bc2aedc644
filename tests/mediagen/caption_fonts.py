"""Fonts for the caption matrix: Debian font packages, four Latin and four CJK faces of different design.

Installed by ``apt-get install`` in ``.ci/run`` (and by hand on a developer machine: the same line).
``font_file(name)`` returns the file or, when it is absent, skips the test with the package to install;
under ``CI=true`` an absent font fails instead, so CI can never pass by skipping the matrix.

Debian bookworm has no rounded face that covers simplified Chinese (Motoya L Maruberi is rounded but
Japanese-only: it lacks 们, 请, 这 ...), so the CJK set is Song, Ming, Hei and Kai; the rounded face is a
Latin one (Quicksand).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Font:
    name: str
    lang: str  # "en" or "zh": the script its captions are written in
    design: str
    path: Path
    package: str
    face: str = ""  # fontconfig family of the face to draw, where the file holds several (.ttc)


_ROOT = Path("/usr/share/fonts")
FONTS: dict[str, Font] = {
    f.name: f
    for f in (
        Font("dejavu-sans", "en", "sans", _ROOT / "truetype/dejavu/DejaVuSans.ttf", "fonts-dejavu-core"),
        Font(
            "liberation-serif",
            "en",
            "serif",
            _ROOT / "truetype/liberation/LiberationSerif-Regular.ttf",
            "fonts-liberation",
        ),
        Font(
            "liberation-mono",
            "en",
            "monospace",
            _ROOT / "truetype/liberation/LiberationMono-Regular.ttf",
            "fonts-liberation",
        ),
        Font(
            "quicksand", "en", "rounded", _ROOT / "truetype/quicksand/Quicksand-Medium.ttf", "fonts-quicksand"
        ),
        Font(
            "noto-serif-cjk",
            "zh",
            "Song",
            _ROOT / "opentype/noto/NotoSerifCJK-Regular.ttc",
            "fonts-noto-cjk",
            "Noto Serif CJK SC",  # face 0 of the file is the Japanese one
        ),
        Font("uming", "zh", "Ming", _ROOT / "truetype/arphic/uming.ttc", "fonts-arphic-uming"),
        Font("wqy-zenhei", "zh", "Hei", _ROOT / "truetype/wqy/wqy-zenhei.ttc", "fonts-wqy-zenhei"),
        Font("ukai", "zh", "Kai", _ROOT / "truetype/arphic/ukai.ttc", "fonts-arphic-ukai"),
    )
}


def font_file(name: str) -> Path:
    """The font's file; skip (or, under CI, fail) when its Debian package is not installed."""
    font = FONTS[name]
    if font.path.is_file():
        return font.path
    reason = f"font {name} missing ({font.path}): apt-get install -y {font.package}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (.ci/run installs it; CI must not skip the caption matrix)")
    pytest.skip(reason)
