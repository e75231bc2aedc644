"""Video I/O shared by the video algorithms: probe, decode frames (all or at a rate), encode, mux audio.

Decoding goes through PyAV (threads from the job context); encoding writes H.264 yuv420p MP4 with
``+faststart`` (or VP9 WebM, with alpha when asked) through PyAV; the source audio track is put back
with the static ffmpeg from imageio-ffmpeg, because re-muxing another container's audio is simplest
and most robust there. Only worker processes import this module.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from airflow_iprod.local.algorithms.base import AlgorithmError

# Audio codecs an MP4 / WebM container takes as they are; anything else is re-encoded.
_MP4_AUDIO = {"aac", "mp3", "alac", "ac3", "eac3"}
_WEBM_AUDIO = {"opus", "vorbis"}


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: Fraction
    duration: float  # seconds
    frame_count: int  # estimated when the container does not say
    has_audio: bool
    audio_codec: str | None


@dataclass(frozen=True)
class Frame:
    index: int  # index among decoded frames of the source (not among samples)
    time: float  # seconds from the start of the video stream
    image: np.ndarray


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args: Sequence[str], what: str) -> None:
    """Run the bundled ffmpeg; a failure becomes an AlgorithmError carrying ffmpeg's last words."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        raise AlgorithmError(f"{what} failed: {' | '.join(tail) or 'ffmpeg exited ' + str(proc.returncode)}")


def _open(path: Path) -> Any:
    try:
        return av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise AlgorithmError(f"Input: cannot be opened as media ({exc}); a video file is required") from exc


def probe(path: Path) -> VideoInfo:
    """Read the first video stream's geometry, rate and duration; refuse input without video."""
    with _open(path) as container:
        if not container.streams.video:
            raise AlgorithmError("Input: has no video stream; a video file (MP4, MOV, WebM, ...) is required")
        vs = container.streams.video[0]
        fps = Fraction(vs.average_rate or vs.guessed_rate or 25)
        if fps <= 0:
            fps = Fraction(25)
        duration = 0.0
        if vs.duration and vs.time_base:
            duration = float(vs.duration * vs.time_base)
        elif container.duration:
            duration = container.duration / 1_000_000
        frames = int(vs.frames) or round(duration * float(fps))
        audio = container.streams.audio[0] if container.streams.audio else None
        return VideoInfo(
            width=vs.codec_context.width,
            height=vs.codec_context.height,
            fps=fps,
            duration=duration,
            frame_count=frames,
            has_audio=audio is not None,
            audio_codec=audio.codec_context.name if audio is not None else None,
        )


def iter_frames(
    path: Path,
    *,
    threads: int = 1,
    rate: float | None = None,
    size: tuple[int, int] | None = None,
    fmt: str = "bgr24",
    start: float = 0.0,
    end: float | None = None,
    decoder: str | None = None,
) -> Iterator[Frame]:
    """Decode the first video stream, every frame or about ``rate`` frames a second.

    ``size`` = (width, height) scales in the converter (cheap); ``start``/``end`` bound the time
    range in seconds (seeks to the key frame before ``start``); ``decoder`` forces a decoder such
    as ``libvpx-vp9`` (the only one that returns VP9 alpha).
    """
    with _open(path) as container:
        if not container.streams.video:
            raise AlgorithmError("Input: has no video stream; a video file is required")
        vs = container.streams.video[0]
        if decoder:
            codec_ctx = av.CodecContext.create(decoder, "r")
            codec_ctx.extradata = vs.codec_context.extradata
        else:
            codec_ctx = vs.codec_context
        codec_ctx.thread_type = "AUTO"
        codec_ctx.thread_count = max(1, threads)
        tb = vs.time_base or Fraction(1, 90000)
        origin = float(vs.start_time * tb) if vs.start_time is not None else 0.0
        fps = float(vs.average_rate or vs.guessed_rate or 25)
        if start > 0:
            container.seek(int((start + origin) / tb), stream=vs, backward=True, any_frame=False)
        next_t = start
        index_base: int | None = None

        def decoded() -> Iterator[Any]:
            if not decoder:
                yield from container.decode(vs)
                return
            for packet in container.demux(vs):
                yield from codec_ctx.decode(packet)

        for frame in decoded():
            if frame.pts is None:
                continue
            t = float(frame.pts * tb) - origin
            if index_base is None:
                index_base = round(t * fps)  # frame index of the first decoded frame after a seek
            if t < start - 0.5 / fps:
                continue
            if end is not None and t >= end:
                break
            if rate is not None:
                if t + 0.5 / fps < next_t:
                    continue
                next_t = max(next_t + 1.0 / rate, t + 0.5 / rate)
            kwargs: dict[str, Any] = {"format": fmt}
            if size is not None:
                kwargs.update(width=size[0], height=size[1])
            image = frame.to_ndarray(**kwargs)
            yield Frame(index=round(t * fps), time=t, image=image)


def frame_at(path: Path, t: float, *, threads: int = 1, fmt: str = "bgr24") -> np.ndarray:
    """The frame shown at time ``t`` (first frame at or after it; the last frame if ``t`` is past the end)."""
    last: np.ndarray | None = None
    for frame in iter_frames(path, threads=threads, start=max(0.0, t), fmt=fmt):
        return frame.image
    for frame in iter_frames(path, threads=threads, start=max(0.0, t - 2.0), fmt=fmt):
        last = frame.image
    if last is None:
        raise AlgorithmError(f"Input: no frame could be decoded near {t:.3f} s")
    return last


class VideoWriter:
    """Encode frames (numpy arrays) into MP4 H.264 yuv420p +faststart, or WebM VP9 (optionally alpha).

    Odd widths/heights are cropped by one pixel: 4:2:0 chroma needs even sizes.
    """

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        fps: Fraction,
        *,
        threads: int = 1,
        crf: int = 18,
        webm_alpha: bool = False,
        webm: bool = False,
    ) -> None:
        self.path = Path(path)
        self.width, self.height = width - width % 2, height - height % 2
        self.webm = webm or webm_alpha
        self.in_format = "bgra" if webm_alpha else "bgr24"
        opts = {"movflags": "+faststart"} if not self.webm else {}
        self._container = av.open(str(self.path), "w", format="webm" if self.webm else "mp4", options=opts)
        fps = Fraction(fps).limit_denominator(100000)
        if self.webm:
            self._stream = self._container.add_stream("libvpx-vp9", rate=fps)
            self._stream.pix_fmt = "yuva420p" if webm_alpha else "yuv420p"
            self._stream.options = {
                "crf": str(crf),
                "b": "0",
                "deadline": "good",
                "cpu-used": "5",
                "row-mt": "1",
                "auto-alt-ref": "0",  # alt-ref frames are not allowed together with alpha
            }
        else:
            self._stream = self._container.add_stream("libx264", rate=fps)
            self._stream.pix_fmt = "yuv420p"
            self._stream.options = {"crf": str(crf), "preset": "veryfast"}
        self._stream.width, self._stream.height = self.width, self.height
        self._stream.codec_context.thread_count = max(1, threads)
        self._count = 0

    def write(self, image: np.ndarray) -> None:
        image = np.ascontiguousarray(image[: self.height, : self.width])
        frame = av.VideoFrame.from_ndarray(image, format=self.in_format)
        frame.pts = self._count
        self._count += 1
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()

    @property
    def frames_written(self) -> int:
        return self._count

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
        else:
            self._container.close()


def add_source_audio(video_only: Path, source: Path, dst: Path, *, threads: int = 1) -> None:
    """Write ``dst`` = the video of ``video_only`` + the first audio track of ``source`` (if any)."""
    info = probe(source)
    webm = dst.suffix.lower() == ".webm"
    if not info.has_audio:
        Path(video_only).replace(dst)
        return
    keep = _WEBM_AUDIO if webm else _MP4_AUDIO
    if info.audio_codec in keep:
        audio = ["-c:a", "copy"]
    else:
        audio = ["-c:a", "libopus", "-b:a", "128k"] if webm else ["-c:a", "aac", "-b:a", "160k"]
    extra = [] if webm else ["-movflags", "+faststart"]
    run_ffmpeg(
        ["-threads", str(threads), "-i", str(video_only), "-i", str(source), "-map", "0:v:0", "-map", "1:a:0",
         "-c:v", "copy", *audio, *extra, str(dst)],
        "muxing the source audio",
    )  # fmt: skip


def transform_video(
    source: Path,
    dst: Path,
    fn: Callable[[Frame], np.ndarray],
    *,
    threads: int = 1,
    crf: int = 18,
    workdir: Path | None = None,
) -> int:
    """Decode every frame of ``source``, map it through ``fn``, encode to MP4 with the source audio.

    Returns the number of frames written.
    """
    info = probe(source)
    tmp = (Path(workdir) if workdir else Path(dst).parent) / f".{Path(dst).stem}.video-only.mp4"
    with VideoWriter(tmp, info.width, info.height, info.fps, threads=threads, crf=crf) as writer:
        for frame in iter_frames(source, threads=threads):
            writer.write(fn(frame))
        count = writer.frames_written
    if count == 0:
        raise AlgorithmError("Input: no video frame could be decoded")
    add_source_audio(tmp, source, Path(dst), threads=threads)
    tmp.unlink(missing_ok=True)
    return count


def cut_segments(
    source: Path, dst: Path, segments: Sequence[tuple[float, float]], *, threads: int = 1
) -> None:
    """Concatenate the time ranges ``segments`` (seconds) of ``source`` into an MP4, audio included."""
    if not segments:
        raise AlgorithmError("Input: nothing to cut (no segment selected)")
    info = probe(source)
    parts: list[str] = []
    labels: list[str] = []
    for i, (a, b) in enumerate(segments):
        parts.append(f"[0:v:0]trim=start={a:.6f}:end={b:.6f},setpts=PTS-STARTPTS[v{i}]")
        labels.append(f"[v{i}]")
        if info.has_audio:
            parts.append(f"[0:a:0]atrim=start={a:.6f}:end={b:.6f},asetpts=PTS-STARTPTS[a{i}]")
            labels.append(f"[a{i}]")
    n = len(segments)
    parts.append(f"{''.join(labels)}concat=n={n}:v=1:a={1 if info.has_audio else 0}[vout]" + (
        "[aout]" if info.has_audio else ""))  # fmt: skip
    maps = ["-map", "[vout]"] + (["-map", "[aout]", "-c:a", "aac", "-b:a", "160k"] if info.has_audio else [])
    run_ffmpeg(
        ["-threads", str(threads), "-i", str(source), "-filter_complex", ";".join(parts), *maps,
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
         "-movflags", "+faststart", str(dst)],
        "cutting the summary",
    )  # fmt: skip
