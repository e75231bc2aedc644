"""The speech-and-noise test matrix: voices x noises x SNRs, every cell seeded.

Axes:
* voice: English in three voices/variants (US male, US female, British male), German, French and
  Mandarin (spoken from pinyin, checked to read as Mandarin: ``mandarin``);
* noise: white, pink, brown (stationary), babble (24 espeak talkers), street (rumble + transients)
  and a synthesised music bed;
* SNR of the mixture: 0, 5 and 10 dB (whole-clip powers, ``noise.mix_at_snr``).

``pairwise()`` is a cover in which every pair of values from two axes occurs at least once (every
voice with every noise; the SNR chosen so every voice and every noise also meets every SNR), which
CI runs; ``full()`` is every cell, run by hand from bench/bench_speech_denoise.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tests.mediagen import mandarin, noise, speech

GERMAN: tuple[str, ...] = (
    "Der Zug nach Hamburg fährt heute pünktlich um halb zehn ab.",
    "Bitte schicken Sie den Bericht bis Freitag an die Buchhaltung.",
    "Im Garten blühen die ersten Rosen, und die Vögel singen laut.",
    "Mein Bruder hat gestern ein altes Fahrrad auf dem Markt gekauft.",
)
FRENCH: tuple[str, ...] = (
    "Le train pour Lyon part ce matin à neuf heures et demie.",
    "Merci d'envoyer le rapport au service financier avant vendredi.",
    "Une brise légère portait l'odeur du pain frais par la fenêtre.",
    "Les enfants jouaient au football dans le parc jusqu'au soir.",
)


@dataclass(frozen=True)
class Voice:
    key: str
    language: str
    espeak_voice: str
    sentences: tuple[str, ...]  # what is spoken (pinyin for Mandarin)


VOICES: dict[str, Voice] = {
    v.key: v
    for v in (
        Voice("en-us", "en", "en-us", speech.SENTENCES),
        Voice("en-us+f3", "en", "en-us+f3", speech.SENTENCES[4:] + speech.SENTENCES[:4]),
        Voice("en-gb+m3", "en", "en-gb+m3", speech.SENTENCES[8:] + speech.SENTENCES[:8]),
        Voice("de", "de", "de", GERMAN),
        Voice("fr", "fr", "fr-fr", FRENCH),
        Voice("cmn", "zh", mandarin.PINYIN_VOICE, tuple(p for _, p in mandarin.SENTENCES)),
    )
}
STATIONARY = ("white", "pink", "brown")
NOISES: tuple[str, ...] = (*STATIONARY, "babble", "street", "music")
SNRS: tuple[float, ...] = (0.0, 5.0, 10.0)


def clean(voice: str, seconds: float, rate: int = 16000, gap: float = 0.4) -> np.ndarray:
    """``seconds`` of ``voice``'s sentences with ``gap`` s pauses, cut or zero-padded to length."""
    v = VOICES[voice]
    if v.language == "zh":
        for pinyin in v.sentences:
            mandarin.check_is_mandarin(pinyin)
    total = round(seconds * rate)
    parts, filled, i = [], 0, 0
    silence = np.zeros(round(gap * rate), np.float32)
    while filled < total:
        said = speech.speak(v.sentences[i % len(v.sentences)], rate=rate, voice=v.espeak_voice)
        parts += [said, silence]
        filled += len(said) + len(silence)
        i += 1
    return np.concatenate(parts)[:total].astype(np.float32)


_NOISE: dict[str, Callable[[int, int, int], np.ndarray]] = {
    "white": lambda n, rate, seed: noise.white(n, seed),
    "pink": lambda n, rate, seed: noise.pink(n, rate, seed),
    "brown": lambda n, rate, seed: noise.brown(n, rate, seed),
    "babble": lambda n, rate, seed: noise.babble(n, rate, seed=seed),
    "street": lambda n, rate, seed: noise.street(n, rate, seed),
    "music": lambda n, rate, seed: noise.music_bed(n, rate, seed),
}


def make_noise(kind: str, n: int, rate: int = 16000, seed: int = 0) -> np.ndarray:
    return _NOISE[kind](n, rate, seed)


@dataclass(frozen=True)
class Cell:
    voice: str
    noise: str
    snr: float

    @property
    def id(self) -> str:
        return f"{self.voice}-{self.noise}-{self.snr:g}dB"

    @property
    def seed(self) -> int:
        """Fixed per cell (not Python's salted hash): same cell, same noise, in every run."""
        return 1000 * list(VOICES).index(self.voice) + 100 * NOISES.index(self.noise) + int(self.snr)

    def mixture(self, seconds: float, rate: int = 16000) -> tuple[np.ndarray, np.ndarray]:
        """(clean, noisy) for this cell."""
        speech_part = clean(self.voice, seconds, rate)
        hiss = make_noise(self.noise, len(speech_part), rate, self.seed)
        return speech_part, noise.mix_at_snr(speech_part, hiss, self.snr)


def full() -> list[Cell]:
    return [Cell(v, n, s) for v, n, s in itertools.product(VOICES, NOISES, SNRS)]


def pairwise() -> list[Cell]:
    """Every voice x noise pair once, with the SNR rotating so that every voice x SNR and noise x SNR
    pair occurs too (a Latin-square cover: 36 cells instead of 108)."""
    voices, noises = list(VOICES), list(NOISES)
    return [Cell(v, n, SNRS[(i + j) % len(SNRS)]) for i, v in enumerate(voices) for j, n in enumerate(noises)]
