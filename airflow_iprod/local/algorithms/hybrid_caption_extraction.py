"""HybridCaptionExtraction: caption OCR, re-read where unsure, then corrected from speech.

JobParams: ``roi`` ([bx, by, bw, bh] normalised, default the bottom quarter), ``lang`` (``zh`` or
``en``, default ``zh``), ``fps`` (2..10, default 5), ``track`` (``main`` or absent), as documented.

Step 1 is CaptionExtraction's reading. Step 2: every cue whose mean recogniser confidence is below
``UNSURE`` is cut from up to ``RESTACK`` samples over its whole span; their per-pixel median (moving
background and grain average out, the static caption does not) is recognised again and replaces the
first reading only when the recogniser is more confident in it.

Step 3, speech fusion, for both languages on a video with an audio track that has unsure cues: the
sound track is transcribed once by Whisper base (``_whisper``: the ASR algorithm's model, from the
pinned wheels, temperature 0, so the same input gives the same text in every run), and each unsure
cue gets the words whose middle falls within its span (plus ``AUDIO_PAD`` either side). Only the
OCR's doubtful parts change, and only to a close heard reading; nothing is ever inserted or deleted
on the recogniser's say-so, and the case and punctuation of the OCR text are kept.

* English: OCR and heard words are aligned by a word-level edit distance. An OCR word is replaced by
  the heard word aligned to it only if the OCR word is doubtful (a character read with confidence
  below ``CHAR_UNSURE``, or a word missing from the CMU pronouncing dictionary that ships with
  PocketSphinx) and the heard word is close in spelling: at most ``MAX_EDITS`` character edits
  (``MAX_EDITS_KNOWN`` if the OCR word is itself in the dictionary: "jumps" must not become a
  misheard "jumped") and at most ``MAX_EDIT_SHARE`` of the longer spelling; and a neighbouring OCR
  word equals the heard word next to it (Whisper sometimes mishears a whole line: "She wrote three
  long leters" heard as "She'll be free on later" must not give "later").
* Chinese (Whisper's traditional characters converted to simplified first): OCR and heard
  characters are aligned one to one. An OCR character is replaced only if it was read with
  confidence below ``CHAR_UNSURE`` (a cue whose character confidences are unknown is left alone),
  the heard character aligned to it is a different Chinese character, and its neighbours on both
  sides agree exactly with the heard ones (at a line end, the two on its inner side): a swap inside
  a stretch both read alike. Homophones are the risk Whisper brings; the confidence rule and the
  anchoring keep it to characters the OCR itself doubts.

Limits: on synthetic (espeak) narration Whisper gets a good share of words or characters wrong, so
many doubtful ones find no matching reading and stay as read; a word or character the OCR dropped is
not restored, nor a cue the OCR lost. A video without audio is OCR only.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from airflow_iprod.local.algorithms import _whisper
from airflow_iprod.local.algorithms._caption_ocr import CaptionOcr
from airflow_iprod.local.algorithms._caption_tracks import Track
from airflow_iprod.local.algorithms._captions import (
    clean_text,
    is_cjk,
    levenshtein,
    roi_pixels,
    sample_frames,
    video_size,
)
from airflow_iprod.local.algorithms._srt import write_srt
from airflow_iprod.local.algorithms.base import AlgorithmResult, JobContext
from airflow_iprod.local.algorithms.caption_extraction import read_captions, to_cues

LANGS = {"zh": "ch", "en": "en"}  # documented value -> the OCR text clean-up used
UNSURE = 0.97  # mean recogniser confidence below which a cue is read again (and heard, for English)
RESTACK = 15  # samples stacked for the second reading
CHAR_UNSURE = 0.9  # a word with a character read below this confidence may be corrected from speech
MAX_EDITS = 2  # an ASR word replaces an OCR word only this close in spelling...
MAX_EDITS_KNOWN = 1  # ...or one when the OCR word is a dictionary word
MAX_EDIT_SHARE = 0.4  # ...and within this share of the longer of the two spellings
AUDIO_PAD = 0.4  # s of audio kept around a cue: narration may start a little before or run past it

_WORD = re.compile(r"^(\W*)([\w']+)(\W*)$")  # leading punctuation, the word, trailing punctuation
CharConfs = list[float] | None  # per character of a cue's text, None when not known


def _read_with_confs(ocr: CaptionOcr, images: list[np.ndarray]) -> list[tuple[str, float, list[float]]]:
    """Like ``CaptionOcr.recognize_images`` but also the confidence of every character of the text."""
    import cv2
    from rapidocr.ch_ppocr_rec import TextRecInput

    # The same margin CaptionOcr adds (a recogniser without it glues edge words to their neighbours).
    images = [
        cv2.copyMakeBorder(im, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        for im in images
        for pad in [max(4, round(0.2 * im.shape[0]))]
    ]
    out = ocr._rec(TextRecInput(img=images, return_word_box=True))  # CaptionOcr's recogniser stage
    results = []
    for text, score, info in zip(out.txts, out.scores, out.word_results, strict=True):
        confs = [float(c) for c in info.confs] if info is not None else []
        results.append((str(text), float(score), confs if len(confs) == len(text) else []))
    return results


def _clean_confs(text: str, confs: list[float], lang: str) -> tuple[str, CharConfs]:
    """The cleaned text and its character confidences, or None if cleaning changed the characters."""
    cleaned = clean_text(text, lang)
    words = text.split()
    if not confs or " ".join(words) != cleaned:
        return cleaned, None
    out: list[float] = []
    i = 0
    for n, word in enumerate(words):
        i = text.index(word, i)
        if n:
            out.append(1.0)  # the single space between words
        out += confs[i : i + len(word)]
        i += len(word)
    return cleaned, out


def reread_unsure(
    ctx: JobContext, tracks: list[Track], fps: int, box: tuple[float, float, float, float], lang: str
) -> tuple[int, dict[int, CharConfs]]:
    """Read unsure single-line tracks again from a median over their whole span.

    Returns how many readings improved, and for each unsure track (by index in ``tracks``) the
    character confidences of its final text when the median reading agrees with it."""
    unsure = [i for i, tr in enumerate(tracks) if tr.confidence < UNSURE and "\n" not in tr.text]
    if not unsure:
        return 0, {}
    wanted: dict[int, set[float]] = {}
    for i in unsure:
        times = tracks[i].samples
        step = max(1, len(times) // RESTACK)
        wanted[i] = set(times[::step][:RESTACK])
    patches: dict[int, list[np.ndarray]] = {i: [] for i in wanted}
    width, height = video_size(ctx.input_path)
    roi = roi_pixels(width, height, *box)
    for t, crop in sample_frames(ctx.input_path, fps, roi, ctx.threads):
        for i, times in wanted.items():
            if t in times:
                tr = tracks[i]
                patches[i].append(crop[tr.y0 : tr.y1, tr.x0 : tr.x1])
    ocr = CaptionOcr(ctx.threads)
    ready = [i for i in unsure if patches[i]]
    images = [np.median(np.stack(patches[i]), axis=0).astype(np.uint8) for i in ready]
    improved = 0
    confs: dict[int, CharConfs] = {i: None for i in unsure}
    for i, (raw, score, chars) in zip(ready, _read_with_confs(ocr, images), strict=True):
        tr = tracks[i]
        text, text_confs = _clean_confs(raw, chars, lang)
        # A surer reading that is shorter has usually dropped a faint character (a leading 一), not
        # fixed one: CaptionExtraction keeps the reading with the most sure characters.
        if text and score > tr.confidence and len(text) >= len(tr.text):
            tr.votes = {text: score}
            tr.scores = [score]
            improved += 1
        if text == tr.text:
            confs[i] = text_confs
    return improved, confs


# ---------------------------------------------------------------- speech fusion
@functools.cache
def _dictionary() -> frozenset[str]:
    """Spellings in the CMU pronouncing dictionary inside the pocketsphinx wheel (lower case)."""
    import pocketsphinx

    path = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"
    words = set()
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            word = line.split(" ", 1)[0]
            words.add(re.sub(r"\(\d+\)$", "", word).lower())
    return frozenset(words)


def has_audio(path: Path) -> bool:
    import av

    try:
        with av.open(str(path)) as container:
            return bool(container.streams.audio)
    except (av.error.FFmpegError, OSError):
        return False


def align(ocr: list[str], asr: list[str], char_cost: bool = True) -> list[int | None]:
    """For each OCR word, the index of the ASR word it lines up with (None: inserted by the OCR).

    Word-level edit distance where substituting costs the normalised character distance, so that
    "lease"/"please" pair up and unrelated words rather become an insertion plus a deletion. With
    ``char_cost=False`` (single Chinese characters) a substitution costs 1 like a gap does."""

    def sub_cost(a: str, b: str) -> float:
        if not char_cost:
            return 0.0 if a == b else 0.5  # doubled below: 1, as an insertion or a deletion
        return levenshtein(a, b) / max(len(a), len(b), 1)

    n, m = len(ocr), len(asr)
    cost = np.zeros((n + 1, m + 1))
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            sub = sub_cost(ocr[i - 1], asr[j - 1])
            cost[i, j] = min(cost[i - 1, j] + 1, cost[i, j - 1] + 1, cost[i - 1, j - 1] + 2 * sub)
    pairs: list[int | None] = [None] * n
    i, j = n, m
    while i > 0 and j > 0:
        sub = sub_cost(ocr[i - 1], asr[j - 1])
        if np.isclose(cost[i, j], cost[i - 1, j - 1] + 2 * sub):
            pairs[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif np.isclose(cost[i, j], cost[i - 1, j] + 1):
            i -= 1
        else:
            j -= 1
    return pairs


def _restyle(word: str, like: str) -> str:
    """``word`` (lower case from ASR) with the capitalisation of the OCR word it replaces."""
    if like.isupper() and len(like) > 1:
        return word.upper()
    return word.capitalize() if like[:1].isupper() else word


def fuse_line(text: str, confs: CharConfs, heard: list[str]) -> tuple[str, int]:
    """Correct doubtful words of one OCR line from the ASR words heard over it; (text, words changed)."""
    tokens = text.split(" ")
    if not heard or not tokens:
        return text, 0
    parts = [_WORD.match(tok) for tok in tokens]
    keys = [m.group(2).lower() if m else "" for m in parts]
    pairs = align(keys, heard)
    known = _dictionary()
    changed = 0
    pos = 0
    for k, (tok, m, key, j) in enumerate(zip(tokens, parts, keys, pairs, strict=True)):
        start = pos
        pos += len(tok) + 1
        if m is None or j is None or (not key.isalpha() and "'" not in key):
            continue
        candidate = heard[j]
        if candidate == key:
            continue
        word_confs = (
            confs[start + len(m.group(1)) : start + len(m.group(1)) + len(m.group(2))] if confs else []
        )
        in_dictionary = key in known
        doubtful = not in_dictionary or (bool(word_confs) and min(word_confs) < CHAR_UNSURE)
        edits = levenshtein(key, candidate)
        if in_dictionary and edits > MAX_EDITS_KNOWN:
            continue  # a real word two edits away is often another form of it ("jumps"/"jumped")
        # Share of the longer spelling: a letter lost from a short word ("he" for "the") is one edit in three.
        if not doubtful or edits > MAX_EDITS or edits > MAX_EDIT_SHARE * max(len(key), len(candidate)):
            continue
        # Whisper may mishear a whole line ("She wrote three long leters" heard as "She'll be free on
        # later"): a word changes only next to a word that both read alike.
        if not (_anchored(pairs, keys, heard, k, -1) or _anchored(pairs, keys, heard, k, 1)):
            continue
        tokens[k] = m.group(1) + _restyle(candidate, m.group(2)) + m.group(3)
        changed += 1
    return " ".join(tokens), changed


def _anchored(pairs: list[int | None], ocr: Sequence[str], asr: Sequence[str], k: int, step: int) -> bool:
    """Whether OCR word or character ``k + step`` lines up, exactly, with the heard one next to the one
    ``k`` lines up with."""
    i, j = k + step, pairs[k]
    return j is not None and 0 <= i < len(ocr) and pairs[i] == j + step and ocr[i] == asr[j + step]


def fuse_chars(text: str, confs: CharConfs, heard: str) -> tuple[str, int]:
    """Correct doubtful Chinese characters of one OCR line from the characters heard over it.

    A character changes only if the recogniser read it with confidence below ``CHAR_UNSURE``, the
    character-level alignment pairs it with a different Chinese character, and its neighbours on both
    sides agree exactly with the heard ones around that character (at a line end, the two characters
    on its inner side): one character swapped in a stretch both read alike, never one inserted or
    deleted."""
    if not heard or not text or not confs:
        return text, 0
    pairs = align(list(text), list(heard), char_cost=False)
    out = list(text)
    changed = 0
    for k, j in enumerate(pairs):
        if j is None or text[k] == heard[j] or confs[k] >= CHAR_UNSURE:
            continue
        if not (is_cjk(text[k]) and is_cjk(heard[j])):
            continue
        before, after = (_anchored(pairs, text, heard, k, step) for step in (-1, 1))
        # At a line end (the heard span may run into the next cue's words): two agreeing characters.
        if k == 0:
            before = after and _anchored(pairs, text, heard, k + 1, +1)
        if k == len(text) - 1:
            after = before and _anchored(pairs, text, heard, k - 1, -1)
        if before and after:
            out[k] = heard[j]
            changed += 1
    return "".join(out), changed


def _heard_over(words: list[_whisper.Sentence], start: float, end: float) -> list[str]:
    """The words whose middle falls within [start, end]."""
    return [w.text for w in words if start <= (w.start + w.end) / 2 <= end]


def _english_words(words: list[str]) -> list[str]:
    """Whisper's words as lower-case spellings without punctuation ("Friday," -> "friday")."""
    return [w for w in (re.sub(r"[^\w']", "", word).lower() for word in words) if w]


def fuse_speech(ctx: JobContext, tracks: list[Track], confs: dict[int, CharConfs], lang: str) -> int:
    """Transcribe the sound track with Whisper and correct each unsure cue's doubtful words
    (English) or characters (Chinese) from what was said over it; returns how many were changed."""
    from airflow_iprod.local.algorithms._audio_decode import load_mono

    audio = load_mono(ctx.input_path, _whisper.RATE)
    heard = _whisper.transcribe_words(audio, lang, ctx.threads)
    changed = 0
    for i, char_confs in confs.items():
        tr = tracks[i]
        words = _heard_over(heard, tr.start - AUDIO_PAD, tr.last + AUDIO_PAD)
        if lang == "en":
            text, n = fuse_line(tr.text, char_confs, _english_words(words))
        else:
            text, n = fuse_chars(tr.text, char_confs, "".join(ch for ch in "".join(words) if is_cjk(ch)))
        ctx.log(f"cue at {tr.start:.2f} s: OCR {tr.text!r}, heard {' '.join(words)!r}, {n} corrected")
        if n:
            tr.votes = {text: max(tr.votes.values())}
            changed += n
    return changed


def run(ctx: JobContext) -> AlgorithmResult:
    # The catalog has checked every field and filled fps, roi and lang with their defaults.
    fps, lang = ctx.params["fps"], ctx.params["lang"]
    bx, by, bw, bh = ctx.params["roi"]
    box = (by, by + bh, bx, bx + bw)  # (top, bottom, left, right), as CaptionExtraction reads it
    tracks, _ = read_captions(ctx, fps, box, LANGS[lang], ctx.params.get("track") == "main")
    improved, confs = reread_unsure(ctx, tracks, fps, box, LANGS[lang])
    ctx.log(f"{improved} unsure cue(s) read better over their whole span")
    # Chinese corrects only characters with a known confidence: without any, nothing to hear for.
    wanted = lang == "en" or any(c is not None for c in confs.values())
    if confs and wanted and has_audio(ctx.input_path):
        unit = "word(s)" if lang == "en" else "character(s)"
        ctx.log(f"{fuse_speech(ctx, tracks, confs, lang)} {unit} corrected from speech")
    target = ctx.new_output(ext=".srt")
    write_srt(to_cues(tracks, fps), target.path)
    return AlgorithmResult(outputs=[target], result={})
