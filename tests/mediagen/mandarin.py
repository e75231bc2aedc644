"""Mandarin speech for tests: sentences in characters with their pinyin, spoken by espeak-ng.

espeak-ng's Mandarin comes in two voices. ``cmn`` reads Chinese characters through its own
character list; ``cmn-latn-pinyin`` reads pinyin with tone digits. Debian 12's espeak-ng 1.51
(``espeak-ng -x -v cmn``) turns the characters into pinyin and then reads it in English: "今天天气很好"
comes out as ``(en)dZI55nw'055n_| tja55nw'055n_|...``, "jin one tian one", and digits likewise. The
wheel's library (1.52.0, what the tests use) reads the characters as Mandarin, but the generator does
not depend on that: it speaks the pinyin with ``cmn-latn-pinyin``, where every syllable is spelled
out with its tone in both versions, and checks the phonemes before speaking.

``phonemes`` is the listening proxy (espeak's ``-x`` output through ``espeak_TextToPhonemes``): a word
espeak switched to another language is marked ``(en)...(cmn)``, and every Mandarin syllable carries a
tone contour (55, 35, 214, 51 or 11 for the neutral tone).
"""

from __future__ import annotations

import re

import numpy as np

from tests.mediagen import espeak_fresh, speech

PINYIN_VOICE = "cmn-latn-pinyin"

# (characters as the reference transcript, the same sentence in pinyin with tone digits)
SENTENCES: tuple[tuple[str, str], ...] = (
    ("今天天气很好，我们去公园散步。", "jin1 tian1 tian1 qi4 hen3 hao3, wo3 men5 qu4 gong1 yuan2 san4 bu4."),
    ("请把这份报告发给财务部。", "qing3 ba3 zhe4 fen4 bao4 gao4 fa1 gei3 cai2 wu4 bu4."),
    ("火车早上九点从北京出发。", "huo3 che1 zao3 shang4 jiu3 dian3 cong2 bei3 jing1 chu1 fa1."),
    ("我喜欢喝茶，不喜欢喝咖啡。", "wo3 xi3 huan1 he1 cha2, bu4 xi3 huan1 he1 ka1 fei1."),
    ("明天下午我们开会讨论新计划。", "ming2 tian1 xia4 wu3 wo3 men5 kai1 hui4 tao3 lun4 xin1 ji4 hua4."),
    ("这家饭店的菜非常好吃。", "zhe4 jia1 fan4 dian4 de5 cai4 fei1 chang2 hao3 chi1."),
)

# espeak's ascii tone contours for Mandarin syllables (-x output): 55 51 35 214 and neutral 11
_TONE = re.compile(r"(55|51|35|214|11)")
_SYLLABLE_MARK = re.compile(r"[1-5]")


def phonemes(text: str, voice: str) -> str:
    """espeak-ng's phoneme names for ``text`` in ``voice`` (what ``espeak-ng -x -v voice`` prints)."""
    return espeak_fresh.phonemes(text, voice)[1]


def espeak_version() -> str:
    return espeak_fresh.phonemes("a", "en")[0]


def check_is_mandarin(pinyin: str, voice: str = PINYIN_VOICE) -> str:
    """The phonemes of ``pinyin``; ``ValueError`` unless espeak reads all of it as Mandarin: no switch
    to another language, and one tone contour per pinyin syllable."""
    ph = phonemes(pinyin, voice)
    if "(" in ph:
        raise ValueError(f"espeak switched language reading {pinyin!r}: {ph}")
    syllables = len(_SYLLABLE_MARK.findall(pinyin))
    tones = len(_TONE.findall(ph))
    if tones != syllables:
        raise ValueError(f"{syllables} syllables in {pinyin!r} but {tones} tones in the phonemes {ph}")
    return ph


def speak(index: int, rate: int = 16000, wpm: int = 130, pitch: int = 50, variant: str = "") -> np.ndarray:
    """Sentence ``index`` of ``SENTENCES`` spoken from its pinyin (checked to read as Mandarin)."""
    pinyin = SENTENCES[index % len(SENTENCES)][1]
    check_is_mandarin(pinyin)
    voice = PINYIN_VOICE + (f"+{variant}" if variant else "")
    return speech.speak(pinyin, rate=rate, voice=voice, wpm=wpm, pitch=pitch)


def reference(index: int) -> str:
    """The characters of sentence ``index``: the transcript a recogniser should give."""
    return SENTENCES[index % len(SENTENCES)][0]
