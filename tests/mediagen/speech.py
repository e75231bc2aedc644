"""Speech for tests, synthesised offline with espeak-ng (the ``espeakng-loader`` wheel).

``speak("some text")`` gives float32 mono samples at the rate asked for; results are cached per
(text, voice, rate, speed, pitch) for the whole test session, and a fresh copy is returned every time
so callers may modify it. ``speak_with_words`` adds per-word start times (seconds) for tests that
check timing (ASR, captions). ``speech_clip`` strings sentences together to a target duration.
Every utterance is synthesised by a process that never spoke before (``espeak_fresh``): espeak-ng
carries state between utterances, and test material must not depend on which tests ran first.
"""

from __future__ import annotations

import functools

import numpy as np

from airflow_iprod.local.algorithms import _espeak
from airflow_iprod.local.algorithms._espeak import Word
from tests.mediagen import espeak_fresh

# Plain English sentences with varied phonetic content; tests pick from these so that several
# clips (and babble talkers) do not say the same thing.
SENTENCES: tuple[str, ...] = (
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Please send the quarterly report to the finance team before Friday.",
    "A gentle breeze carried the smell of fresh bread through the open window.",
    "Seven engineers measured the bridge twice and found no cracks at all.",
    "She bought three oranges, a loaf of bread and a jar of honey at the market.",
    "The weather forecast says heavy rain will arrive later this evening.",
    "Our train leaves the central station at half past nine in the morning.",
    "He opened the old wooden box and found a map of the northern islands.",
    "Children were playing football in the park until the sun went down.",
    "Remember to switch off the lights and lock the door when you leave.",
    "The museum will open a new exhibition about ancient ships next month.",
    "A small cat slept quietly on the warm stones beside the garden wall.",
)

# English voices/variants that sound clearly different (used for babble and multi-speaker tests).
VOICES: tuple[str, ...] = ("en-us", "en-us+f3", "en-gb", "en-us+m3", "en-gb+f2", "en-us+m7", "en-gb-x-rp+f4")


@functools.lru_cache(maxsize=256)
def _synth(text: str, voice: str, wpm: int, pitch: int, rate: int) -> tuple[np.ndarray, tuple[Word, ...]]:
    syn = espeak_fresh.synthesize(text, voice, wpm, pitch)
    audio = syn.samples.astype(np.float32) / 32768.0
    if rate != syn.sample_rate:
        import soxr

        audio = soxr.resample(audio, syn.sample_rate, rate, quality="HQ").astype(np.float32)
    audio.setflags(write=False)
    return audio, tuple(syn.words)


def speak(text: str, rate: int = 16000, voice: str = "en-us", wpm: int = 160, pitch: int = 50) -> np.ndarray:
    """``text`` spoken by espeak-ng as float32 mono samples at ``rate`` Hz (peak about 0.7)."""
    return _synth(text, voice, wpm, pitch, rate)[0].copy()


def speak_with_words(
    text: str, rate: int = 16000, voice: str = "en-us", wpm: int = 160, pitch: int = 50
) -> tuple[np.ndarray, list[Word]]:
    """Like ``speak`` plus the words espeak reported, each with its start time in seconds."""
    audio, words = _synth(text, voice, wpm, pitch, rate)
    return audio.copy(), list(words)


def speech_clip(
    duration: float,
    rate: int = 16000,
    voice: str = "en-us",
    gap: float = 0.4,
    first: int = 0,
) -> np.ndarray:
    """Sentences from ``SENTENCES`` (starting at index ``first``) separated by ``gap`` s of silence,
    cut or zero-padded to exactly ``duration`` seconds."""
    total = round(duration * rate)
    parts: list[np.ndarray] = []
    filled = 0
    i = first
    silence = np.zeros(round(gap * rate), np.float32)
    while filled < total:
        sentence = speak(SENTENCES[i % len(SENTENCES)], rate=rate, voice=voice)
        parts += [sentence, silence]
        filled += len(sentence) + len(silence)
        i += 1
    return np.concatenate(parts)[:total].astype(np.float32)


def voices() -> list[str]:
    """Language voice names the bundled espeak-ng offers (add ``+f3`` etc. for a variant)."""
    return [v.languages[0] for v in _espeak.list_voices() if v.languages]
