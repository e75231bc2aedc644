"""TextToSpeech (MPS): speak the ``text`` JobParam with espeak-ng, write WAV (or MP3).

The local engine uses the espeak-ng library and voice data that ship inside the ``espeakng-loader``
wheel (formant synthesis: intelligible and fast, clearly robotic; the cloud's neural voices are not
available offline). ``voice`` is an espeak-ng language voice (``en-us``, ``en-gb``, ``fr-fr``, ``cmn``...),
optionally with a voice variant (``en-us+f3``); unknown names are refused with the list.
``speech_rate`` multiplies espeak-ng's default 175 words per minute. ``volume`` (0-100, default 50)
scales the output linearly: 100 puts the peak at -1 dBFS, 50 at -7 dBFS, 0 is silence.

The catalog requires ``text`` (1 to 10000 characters) and fills the other fields' defaults; this
module refuses only what it alone can judge: a voice espeak-ng lacks, and text with nothing to say.
Output: mono 16-bit WAV at espeak-ng's native 22050 Hz (``format`` "wav"), or MP3 encoded with
PyAV's LAME (``format`` "mp3"). Result: ``{"Duration": s, "Voice": "...", "SampleRate": 22050}``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from airflow_iprod.local.algorithms.base import AlgorithmError, AlgorithmResult, JobContext

DEFAULT_WPM = 175  # espeak-ng's own default rate: speech_rate 1.0
FULL_VOLUME_PEAK = 10 ** (-1 / 20)  # volume 100 -> -1 dBFS peak
MP3_BITRATE = 64000  # mono speech


@functools.cache
def voice_names() -> tuple[str, ...]:
    """Language voices of the bundled espeak-ng data, e.g. ``en-us``; each also takes ``+variant``.

    Voices whose pronunciation dictionary the wheel lacks (fo, kaa, xex in espeakng-loader 0.2.4) are
    left out: espeak-ng would silently keep speaking with the previous voice's dictionary.
    """
    import espeakng_loader

    from airflow_iprod.local.algorithms import _espeak

    data = Path(espeakng_loader.get_data_path())
    return tuple(
        sorted(
            {
                v.languages[0].lower()
                for v in _espeak.list_voices()
                if v.languages
                and (data / f"{_dictionary(data / 'lang' / v.identifier, v.languages[0])}_dict").is_file()
            }
        )
    )


def _dictionary(voice_file: Path, language: str) -> str:
    """The voice file's ``dictionary`` line, else espeak-ng's default: the language without its region."""
    try:
        for line in voice_file.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.strip().partition(" ")
            if key == "dictionary" and value.strip():
                return value.strip()
    except OSError:
        pass
    return language.split("-", 1)[0]


@functools.cache
def variant_names() -> tuple[str, ...]:
    """Voice variants (``f3``, ``m7``, ``klatt4``...) that can follow a voice after ``+``."""
    import espeakng_loader

    folder = Path(espeakng_loader.get_data_path()) / "voices" / "!v"
    return tuple(sorted(p.name for p in folder.iterdir() if p.is_file() and " " not in p.name))


def check_voice(voice: str) -> str:
    """The voice as espeak-ng takes it (lower-case language, variant as given), or a clear error."""
    lang, plus, variant = voice.strip().partition("+")
    lang = lang.lower()
    if lang not in voice_names():
        raise AlgorithmError(
            f"JobParams.voice: {voice!r} is not an available voice; allowed: one of "
            f"{', '.join(voice_names())} (optionally with +variant, e.g. 'en-us+f3')"
        )
    if plus:
        match = {v.lower(): v for v in variant_names()}.get(variant.lower())
        if match is None:
            raise AlgorithmError(
                f"JobParams.voice: variant {variant!r} of {voice!r} is unknown; allowed variants: "
                f"{', '.join(variant_names())}"
            )
        return f"{lang}+{match}"
    return lang


def check_params(params: dict[str, Any]) -> str:
    """The voice as espeak-ng takes it; cheap, so the engine calls it at Submit too (the catalog has
    already refused text with nothing to speak)."""
    return check_voice(params["voice"])


def speak(text: str, voice: str, rate: float, volume: int) -> tuple[np.ndarray, int]:
    """float32 mono samples and their rate, scaled for ``volume``."""
    from airflow_iprod.local.algorithms import _espeak

    synthesis = _espeak.synthesize(text, voice=voice, rate_wpm=round(DEFAULT_WPM * rate))
    audio = synthesis.samples.astype(np.float32) / 32768.0
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 0:  # peak-normalise so volume means the same for every voice
        audio *= (volume / 100) * FULL_VOLUME_PEAK / peak
    return audio, synthesis.sample_rate


def write_mp3(path: Path, audio: np.ndarray, rate: int) -> None:
    import av

    with av.open(str(path), "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout="mono")
        stream.bit_rate = MP3_BITRATE
        frame = av.AudioFrame.from_ndarray(
            audio.reshape(1, -1).astype(np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def run(ctx: JobContext) -> AlgorithmResult:
    from airflow_iprod.local.algorithms._audio_decode import write_wav

    voice = check_params(ctx.params)
    text, fmt = ctx.params["text"], ctx.params["format"]
    audio, sample_rate = speak(text, voice, ctx.params["speech_rate"], ctx.params["volume"])
    if audio.size == 0:
        raise AlgorithmError(
            f"JobParams.text: espeak-ng produced no sound for this text with voice {voice!r}"
        )
    target = ctx.new_output(ext=f".{fmt}")
    if fmt == "mp3":
        write_mp3(target.path, audio, sample_rate)
    else:
        write_wav(target.path, audio.reshape(1, -1), sample_rate)
    duration = round(len(audio) / sample_rate, 3)
    ctx.log(f"{len(text)} characters -> {duration} s with voice {voice}")
    return AlgorithmResult(
        outputs=[target], result={"Duration": duration, "Voice": voice, "SampleRate": sample_rate}
    )
