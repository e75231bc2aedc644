"""Video I/O shared by the video algorithms: probe, decode frames (all or at a rate), encode, mux audio.

Decoding goes through PyAV (threads from the job context); encoding writes H.264 yuv420p MP4 with
``+faststart`` (or VP9 WebM, with alpha when asked) through PyAV; the source audio track is put back
with the static ffmpeg from imageio-ffmpeg, because re-muxing another container's audio is simplest
and most robust there. Only worker processes import this module.
"""

from __future__ import annotations

import subprocess
import threading
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
    video_codec: str | None = None


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
            video_codec=vs.codec_context.name,
        )


def iter_raw_frames(
    path: Path,
    *,
    threads: int = 1,
    start: float = 0.0,
    end: float | None = None,
    decoder: str | None = None,
) -> Iterator[tuple[int, float, Any]]:
    """Decoded ``av.VideoFrame`` objects of the first video stream as ``(index, time, frame)``.

    The frames stay in the decoder's pixel format (usually yuv420p): callers that pass most frames
    through unchanged (``VideoWriter.write_frame``) or look at a small region avoid converting
    whole frames. Same time bounds and seeking as ``iter_frames``.
    """
    for index, t, frame, _fps in _decode(path, threads, start, end, decoder):
        yield index, t, frame


def _decode(
    path: Path, threads: int, start: float, end: float | None, decoder: str | None
) -> Iterator[tuple[int, float, Any, float]]:
    with _open(path) as container:
        if not container.streams.video:
            raise AlgorithmError("Input: has no video stream; a video file is required")
        vs = container.streams.video[0]
        if decoder:
            codec_ctx = av.CodecContext.create(decoder, "r")
            codec_ctx.extradata = vs.codec_context.extradata
        else:
            codec_ctx = vs.codec_context
        codec_ctx.thread_type = "AUTO"  # frame + slice threads
        codec_ctx.thread_count = max(1, threads)
        tb = vs.time_base or Fraction(1, 90000)
        origin = float(vs.start_time * tb) if vs.start_time is not None else 0.0
        fps = float(vs.average_rate or vs.guessed_rate or 25)
        if start > 0:
            container.seek(int((start + origin) / tb), stream=vs, backward=True, any_frame=False)

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
            if t < start - 0.5 / fps:
                continue
            if end is not None and t >= end:
                break
            yield round(t * fps), t, frame, fps


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
    next_t = start
    for index, t, frame, fps in _decode(path, threads, start, end, decoder):
        if rate is not None:
            if t + 0.5 / fps < next_t:
                continue
            next_t = max(next_t + 1.0 / rate, t + 0.5 / rate)
        kwargs: dict[str, Any] = {"format": fmt}
        if size is not None:
            kwargs.update(width=size[0], height=size[1])
        yield Frame(index=index, time=t, image=frame.to_ndarray(**kwargs))


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

    Odd widths/heights are cropped by one pixel: 4:2:0 chroma needs even sizes. ``in_format`` is the
    layout ``write`` takes (default bgr24, or bgra for alpha); ``write_frame`` takes decoded
    ``av.VideoFrame`` objects, so untouched frames go to the encoder with no colour conversion.
    ``preset`` is x264's; ``vp9_deadline``/``vp9_cpu_used`` trade VP9 speed for size.
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
        in_format: str | None = None,
        preset: str = "veryfast",
        vp9_deadline: str = "good",
        vp9_cpu_used: int = 5,
    ) -> None:
        self.path = Path(path)
        self.width, self.height = width - width % 2, height - height % 2
        self.webm = webm or webm_alpha
        self.in_format = in_format or ("bgra" if webm_alpha else "bgr24")
        opts = {"movflags": "+faststart"} if not self.webm else {}
        self._container = av.open(str(self.path), "w", format="webm" if self.webm else "mp4", options=opts)
        fps = Fraction(fps).limit_denominator(100000)
        self._time_base = 1 / fps
        if self.webm:
            self._stream = self._container.add_stream("libvpx-vp9", rate=fps)
            self._stream.pix_fmt = "yuva420p" if webm_alpha else "yuv420p"
            self._stream.options = {
                "crf": str(crf),
                "b": "0",
                "deadline": vp9_deadline,
                "cpu-used": str(vp9_cpu_used),
                "row-mt": "1",
                "tile-columns": "1" if self.width >= 512 else "0",  # 2 columns (min 256 px) for threads
                "auto-alt-ref": "0",  # alt-ref frames are not allowed together with alpha
            }
        else:
            self._stream = self._container.add_stream("libx264", rate=fps)
            self._stream.pix_fmt = "yuv420p"
            self._stream.options = {"crf": str(crf), "preset": preset}
        self._stream.width, self._stream.height = self.width, self.height
        self._stream.codec_context.thread_count = max(1, threads)
        self._count = 0

    def write(self, image: np.ndarray) -> None:
        if self.in_format == "yuv420p":
            if image.shape != (self.height * 3 // 2, self.width):
                raise ValueError(
                    f"yuv420p frame of shape {image.shape} for a {self.width}x{self.height} video"
                )
        else:
            image = np.ascontiguousarray(image[: self.height, : self.width])
        self._encode(av.VideoFrame.from_ndarray(image, format=self.in_format))

    def write_frame(self, frame: Any) -> None:
        """Encode a decoded ``av.VideoFrame`` as it is (converted only if its size or format differ)."""
        if (frame.width, frame.height) != (
            self.width,
            self.height,
        ) or frame.format.name != self._stream.pix_fmt:
            bgr = np.ascontiguousarray(frame.to_ndarray(format="bgr24")[: self.height, : self.width])
            frame = av.VideoFrame.from_ndarray(bgr, format="bgr24")
        self._encode(frame)

    def _encode(self, frame: Any) -> None:
        frame.pts = self._count
        frame.time_base = self._time_base  # a decoded frame carries its source's time base
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


def even_box(box: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    """Grow ``(x0, y0, x1, y1)`` to even corners, so it covers whole 2x2 blocks of 4:2:0 chroma."""
    x0, y0, x1, y1 = box
    return max(0, x0 - x0 % 2), max(0, y0 - y0 % 2), min(width, x1 + x1 % 2), min(height, y1 + y1 % 2)


_local = threading.local()


def _reformatter() -> Any:
    """A per-thread swscale converter: it keeps its context between same-sized crops (a new one per
    frame, as ``VideoFrame.reformat`` makes, costs more than converting a small crop)."""
    if not hasattr(_local, "reformatter"):
        from av.video.reformatter import VideoReformatter

        _local.reformatter = VideoReformatter()
    return _local.reformatter


def _yuv_planes(yuv: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of the Y, U, V planes of a packed yuv420p array (``VideoFrame.to_ndarray("yuv420p")``)."""
    flat = yuv.reshape(-1)
    y_size, c_size = width * height, (width // 2) * (height // 2)
    return (
        flat[:y_size].reshape(height, width),
        flat[y_size : y_size + c_size].reshape(height // 2, width // 2),
        flat[y_size + c_size : y_size + 2 * c_size].reshape(height // 2, width // 2),
    )


def yuv_crop_to_bgr(yuv: np.ndarray, width: int, height: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """BGR pixels of the even-cornered ``box`` of a yuv420p frame, converted like a whole frame would be."""
    x0, y0, x1, y1 = box
    y_pl, u_pl, v_pl = _yuv_planes(yuv, width, height)
    parts = (
        y_pl[y0:y1, x0:x1],
        u_pl[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2],
        v_pl[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2],
    )
    packed = np.concatenate([p.reshape(-1) for p in parts]).reshape((y1 - y0) * 3 // 2, x1 - x0)
    frame = av.VideoFrame.from_ndarray(packed, format="yuv420p")
    return _reformatter().reformat(frame, format="bgr24").to_ndarray()


def paste_bgr(
    yuv: np.ndarray, width: int, height: int, bgr: np.ndarray, box: tuple[int, int, int, int],
    mask: np.ndarray | None = None,
) -> None:  # fmt: skip
    """Write BGR pixels into the even-cornered ``box`` of a yuv420p frame, in place.

    With ``mask`` (same size as ``bgr``, non-zero = changed) only the changed pixels and the chroma
    of their 2x2 blocks are written: everything else keeps the decoder's exact values.
    """
    x0, y0, x1, y1 = box
    # OpenCV's BT.601 limited-range conversion: within one level of swscale's, with no per-call setup
    import cv2

    packed = cv2.cvtColor(np.ascontiguousarray(bgr), cv2.COLOR_BGR2YUV_I420)
    new_y, new_u, new_v = _yuv_planes(packed, x1 - x0, y1 - y0)
    y_pl, u_pl, v_pl = _yuv_planes(yuv, width, height)
    cy = (slice(y0 // 2, y1 // 2), slice(x0 // 2, x1 // 2))
    if mask is None:
        y_pl[y0:y1, x0:x1] = new_y
        u_pl[cy], v_pl[cy] = new_u, new_v
        return
    changed = mask > 0
    np.copyto(y_pl[y0:y1, x0:x1], new_y, where=changed)
    block = changed.reshape(changed.shape[0] // 2, 2, changed.shape[1] // 2, 2).any(axis=(1, 3))
    np.copyto(u_pl[cy], new_u, where=block)
    np.copyto(v_pl[cy], new_v, where=block)


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


def copy_source(source: Path, dst: Path, *, threads: int = 1) -> bool:
    """Write ``dst`` (MP4) as the source's own H.264 stream and audio, bit-exact, when nothing changed.

    Returns False (and writes nothing) when the source video is not H.264, so the caller encodes.
    """
    info = probe(source)
    if info.video_codec != "h264":
        return False
    audio: list[str] = []
    if info.has_audio:
        audio = ["-map", "0:a:0", "-c:a"] + (
            ["copy"] if info.audio_codec in _MP4_AUDIO else ["aac", "-b:a", "160k"]
        )
    run_ffmpeg(
        ["-threads", str(threads), "-i", str(source), "-map", "0:v:0", "-c:v", "copy", *audio,
         "-movflags", "+faststart", str(dst)],
        "copying the unchanged source",
    )  # fmt: skip
    return True


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
    """Concatenate the time ranges ``segments`` (seconds) of ``source`` into an MP4, audio included.

    Every segment is its own input, opened with a seek a little before its start and read only up
    to its end, so ffmpeg decodes the kept ranges (plus a GOP lead-in), not the whole source; the
    exact frame range is still chosen by ``trim`` on the source's own timeline.
    """
    if not segments:
        raise AlgorithmError("Input: nothing to cut (no segment selected)")
    info = probe(source)
    inputs: list[str] = []
    parts: list[str] = []
    labels: list[str] = []
    lead = 1.0  # seconds decoded before a segment's start; trim keeps the exact range
    for i, (a, b) in enumerate(segments):
        seek = max(0.0, a - lead)
        inputs += ["-ss", f"{seek:.6f}", "-t", f"{b - seek + lead:.6f}", "-i", str(source)]
        # after an input seek ffmpeg's timeline starts at ``seek``: shift the range by it
        parts.append(f"[{i}:v:0]trim=start={a - seek:.6f}:end={b - seek:.6f},setpts=PTS-STARTPTS[v{i}]")
        labels.append(f"[v{i}]")
        if info.has_audio:
            parts.append(f"[{i}:a:0]atrim=start={a - seek:.6f}:end={b - seek:.6f},asetpts=PTS-STARTPTS[a{i}]")
            labels.append(f"[a{i}]")
    n = len(segments)
    parts.append(f"{''.join(labels)}concat=n={n}:v=1:a={1 if info.has_audio else 0}[vout]" + (
        "[aout]" if info.has_audio else ""))  # fmt: skip
    maps = ["-map", "[vout]"] + (["-map", "[aout]", "-c:a", "aac", "-b:a", "160k"] if info.has_audio else [])
    run_ffmpeg(
        ["-threads", str(threads), *inputs, "-filter_complex", ";".join(parts), *maps,
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
         "-movflags", "+faststart", str(dst)],
        "cutting the summary",
    )  # fmt: skip
