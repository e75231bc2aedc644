"""A small synthetic "talk recording" for the flagship DAG: noisy narration + video with burnt-in captions.

Everything is generated offline: espeak-ng speaks the lines (from the ``espeakng-loader`` wheel),
seeded noise is mixed in at a known SNR, and the bundled ffmpeg draws the same lines as captions
on a 640x360 video timed to the speech. The ground truth (clean speech, cue times) comes back too.
Heavy imports stay inside the function: DAG files import this module lazily, from a task.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

LINES = (
    "Welcome to the airflow media pipeline demo.",
    "First we clean the noisy narration.",
    "Then we read the captions from the video.",
    "Finally we publish every result.",
)
RATE = 16000
GAP_S = 0.5
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


@dataclass
class Talk:
    noisy_wav: str  # 16 kHz mono PCM16, speech + noise at ``snr_db``
    clean_wav: str  # the same speech without noise (ground truth)
    video: str  # 640x360 H.264 with the lines burnt in, noisy narration as its audio track
    cues: list[tuple[float, float, str]]  # (start s, end s, text) of each caption
    snr_db: float
    duration: float

    def to_dict(self) -> dict:
        return asdict(self)


def make_talk(out_dir: str | Path, *, snr_db: float = 5.0, seed: int = 7) -> Talk:
    import imageio_ffmpeg
    import numpy as np
    import soundfile as sf
    from scipy.signal import resample_poly

    from airflow_iprod.local.algorithms import _espeak

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    native = _espeak.native_sample_rate()
    pieces: list[np.ndarray] = []
    cues: list[tuple[float, float, str]] = []
    t = GAP_S
    pieces.append(np.zeros(int(GAP_S * RATE), dtype=np.float32))
    for line in LINES:
        speech = _espeak.synthesize(line, voice="en-us", rate_wpm=150)
        audio = resample_poly(speech.samples.astype(np.float32) / 32768.0, RATE, native).astype(np.float32)
        cues.append((round(t, 3), round(t + len(audio) / RATE, 3), line))
        pieces += [audio, np.zeros(int(GAP_S * RATE), dtype=np.float32)]
        t += len(audio) / RATE + GAP_S
    clean = np.concatenate(pieces)
    clean *= 0.5 / max(1e-6, float(np.max(np.abs(clean))))
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(len(clean)).astype(np.float32)
    noise *= np.sqrt(np.mean(clean**2) / (np.mean(noise**2) * 10 ** (snr_db / 10)))
    noisy = np.clip(clean + noise, -1, 1)
    clean_path, noisy_path = out / "narration_clean.wav", out / "narration.wav"
    sf.write(clean_path, clean, RATE, subtype="PCM_16")
    sf.write(noisy_path, noisy, RATE, subtype="PCM_16")

    duration = len(clean) / RATE
    draws = []
    for start, end, text in cues:
        safe = text.replace("\\", "\\\\").replace(":", "\\:").replace("'", "\u2019")
        draws.append(
            f"drawtext=fontfile={FONT}:text='{safe}':fontsize=24:fontcolor=white:borderw=2:bordercolor=black"
            f":x=(w-text_w)/2:y=h-50:enable='between(t,{start},{end})'"
        )
    video_path = out / "talk.mp4"
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=25:duration={duration:.3f}",
        "-i", str(noisy_path),
        "-vf", ",".join(["drawbox=x=0:y=ih-80:w=iw:h=80:color=black@0.35:t=fill", *draws]),
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "64k", "-shortest", str(video_path),
    ]  # fmt: skip
    subprocess.run(cmd, check=True)
    talk = Talk(str(noisy_path), str(clean_path), str(video_path), cues, snr_db, round(duration, 3))
    (out / "talk.json").write_text(json.dumps(talk.to_dict(), indent=2))
    return talk
