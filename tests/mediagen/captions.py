"""Videos with burnt-in captions at known times, drawn by ffmpeg's drawtext, plus the SRT truth.

``caption_clip(path, cues, background=...)`` writes an H.264 MP4 (and ``<stem>.truth.srt`` beside it):
each cue ``(start, end, text)`` is visible on the frames with ``start <= t < end``. Backgrounds:
``testsrc2`` (busy, moving), ``color`` (flat), ``noise`` (flat colour with strong moving grain) and
``lowcontrast`` (moving grain, grey text on grey with a thin outline: hard for OCR). Optional mono
audio (e.g. espeak narration) is muxed as AAC. Chinese needs a CJK font: ``CJK_FONT`` is the
WenQuanYi Micro Hei face from the ``paperang-p2-fonts-cjk`` wheel (a test dependency).
"""

from __future__ import annotations

import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from airflow_iprod.local.algorithms._srt import Cue, write_srt

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def _cjk_font() -> Path:
    """WenQuanYi Micro Hei from the ``paperang-p2-fonts-cjk`` wheel (a declared test dependency)."""
    import paperang_p2_fonts_cjk

    path = Path(paperang_p2_fonts_cjk.__file__).parent / "fonts" / "wqy-microhei.ttc"
    if not path.is_file():
        raise FileNotFoundError(f"CJK font missing from the paperang-p2-fonts-cjk wheel: {path}")
    return path


CJK_FONT = _cjk_font()

ENGLISH = (
    (0.6, 2.8, "The quick brown fox jumps over the lazy dog"),
    (3.2, 5.4, "Please send the report before Friday"),
    (5.4, 7.8, "Seven engineers measured the bridge twice"),
    (8.6, 10.8, "A small cat slept on the warm stones"),
)
CHINESE = (
    (0.6, 2.8, "今天天气很好我们去公园散步吧"),
    (3.2, 5.4, "请在星期五之前把报告发给财务部"),
    (5.4, 7.8, "七位工程师把这座桥测量了两次"),
    (8.6, 10.8, "一只小猫在温暖的石头上安静地睡着了"),
)
MIXED = (
    (0.6, 2.8, "我们明天用Python写一个API服务"),
    (3.2, 5.4, "请把PDF文件发到我的Email邮箱"),
    (5.4, 7.8, "这个GPU的性能比CPU高很多"),
    (8.6, 10.8, "下午三点在Room 302开会"),
)


@dataclass
class CaptionClip:
    path: Path
    truth: list[Cue]
    truth_srt: Path
    seconds: float
    size: tuple[int, int]


def _escape(path: Path) -> str:
    # drawtext option values: ':' and '\\' and "'" must be escaped inside the filter graph
    return str(path).replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'")


def _background(kind: str, size: str, seconds: float, fps: int) -> str:
    if kind == "testsrc2":
        return f"testsrc2=size={size}:rate={fps}:duration={seconds}"
    if kind == "color":
        return f"color=c=0x3060a0:size={size}:rate={fps}:duration={seconds}"
    if kind == "noise":
        return f"color=c=0x507090:size={size}:rate={fps}:duration={seconds},noise=alls=60:allf=t+u"
    if kind == "lowcontrast":
        return f"color=c=0x808080:size={size}:rate={fps}:duration={seconds},noise=alls=70:allf=t+u"
    raise ValueError(f"unknown background {kind!r}")


def _write_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def caption_clip(
    path: Path,
    cues: tuple[tuple[float, float, str], ...] | list[tuple[float, float, str]],
    *,
    background: str = "testsrc2",
    seconds: float = 11.5,
    size: tuple[int, int] = (640, 360),
    fps: int = 25,
    fontsize: int = 26,
    y_frac: float = 0.86,
    font: Path | None = None,
    extra: tuple[tuple[float, float, str, float], ...] = (),
    audio: np.ndarray | None = None,
    audio_rate: int = 16000,
) -> CaptionClip:
    """Draw ``cues`` centred at ``y_frac`` of the height. ``extra`` adds (start, end, text, y_frac)
    captions elsewhere (a second track) that are part of the truth too."""
    font = font or CJK_FONT
    w, h = size
    low = background == "lowcontrast"
    style = (
        "fontcolor=0xb8b8b8:borderw=1:bordercolor=0x606060"
        if low
        else "fontcolor=white:borderw=2:bordercolor=black"
    )
    filters = []
    texts: list[Path] = []
    tmp = Path(tempfile.mkdtemp(prefix="captions-"))
    every = [(a, b, text, y_frac) for a, b, text in cues] + list(extra)
    for i, (start, end, text, y) in enumerate(every):
        text_file = tmp / f"cue{i}.txt"
        text_file.write_text(text, encoding="utf-8")
        texts.append(text_file)
        filters.append(
            f"drawtext=fontfile='{_escape(font)}':textfile='{_escape(text_file)}':fontsize={fontsize}:"
            f"{style}:x=(w-tw)/2:y={round(y * h)}-th/2:enable='gte(t,{start})*lt(t,{end})'"
        )
    args = [FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    args += ["-f", "lavfi", "-i", _background(background, f"{w}x{h}", seconds, fps)]
    if audio is not None:
        wav = tmp / "narration.wav"
        _write_wav(wav, audio, audio_rate)
        args += ["-i", str(wav)]
    # Grain costs the encoder and decoder a lot; a coarser encode keeps test clips fast and small.
    crf = "30" if background in ("noise", "lowcontrast") else "20"
    args += ["-vf", ",".join(filters), "-c:v", "libx264", "-preset", "ultrafast", "-crf", crf]
    args += ["-pix_fmt", "yuv420p"]
    if audio is not None:
        args += ["-c:a", "aac", "-b:a", "96k", "-shortest"]
    args += ["-t", str(seconds), str(path)]
    subprocess.run(args, check=True)
    truth = sorted((Cue(a, b, text) for a, b, text, _ in every), key=lambda c: (c.start, c.text))
    truth_srt = path.with_name(path.stem + ".truth.srt")
    write_srt(truth, truth_srt)
    return CaptionClip(path, truth, truth_srt, seconds, size)


def narration(
    cues: tuple[tuple[float, float, str], ...] | list[tuple[float, float, str]],
    seconds: float,
    rate: int = 16000,
) -> np.ndarray:
    """espeak-ng reading each cue's text starting at the cue's start, squeezed into the cue's span."""
    from tests.mediagen.speech import speak

    out = np.zeros(round(seconds * rate), np.float32)
    for start, end, text in cues:
        wpm = 170
        voice = speak(text, rate=rate, wpm=wpm)
        while len(voice) > (end - start) * rate and wpm < 320:
            wpm += 20
            voice = speak(text, rate=rate, wpm=wpm)
        i = round(start * rate)
        voice = voice[: max(0, len(out) - i)]
        out[i : i + len(voice)] += voice
    return out
