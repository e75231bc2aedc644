"""HybridCaptionExtraction: caption OCR, re-read where unsure, then corrected from speech (English).

JobParams: ``roi`` ([bx, by, bw, bh] normalised, default the bottom quarter), ``lang`` (``zh`` or
``en``, default ``zh``), ``fps`` (2..10, default 5), ``track`` (``main`` or absent), as documented.

Step 1 is CaptionExtraction's reading. Step 2: every cue whose mean recogniser confidence is below
``UNSURE`` is cut from up to ``RESTACK`` samples over its whole span; their per-pixel median (moving
background and grain average out, the static caption does not) is recognised again and replaces the
first reading only when the recogniser is more confident in it.

Step 3, speech fusion, only for ``lang=en`` on a video with an audio track: the unsure cues' audio
spans are decoded with the ASR algorithm's PocketSphinx set-up (same 16 kHz preparation and noise-floor
trick). The OCR and ASR words are aligned by a word-level edit distance, and an OCR word is replaced
by the ASR word aligned to it only when all of these hold:

* the OCR word is doubtful: a character the recogniser read with confidence below ``CHAR_UNSURE``,
  or a word missing from the CMU pronouncing dictionary that ships with PocketSphinx;
* the ASR word is close in spelling: at most ``MAX_EDITS`` character edits (``MAX_EDITS_KNOWN`` if
  the OCR word is itself in the dictionary: "jumps" must not become a misheard "jumped") and at most
  ``MAX_EDIT_SHARE`` of the longer spelling (a dropped or misread letter, not a different word).

Words are never inserted or deleted on the recogniser's say-so, confident dictionary words are never
touched, and the case and punctuation of the OCR word are kept. Limits: PocketSphinx gets roughly a
third of words wrong on synthetic speech, so many unsure words find no close ASR word and stay as
read; a word the OCR dropped entirely (e.g. a one-letter "A") is not restored; homophones are only
a risk for doubtful words. ``zh`` stays OCR only: there is no offline Chinese recogniser among the
installed packages. A video without audio is OCR only as well.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

from airflow_iprod.local.algorithms._caption_ocr import CaptionOcr
from airflow_iprod.local.algorithms._caption_tracks import Track
from airflow_iprod.local.algorithms._captions import (
    clean_text,
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


# ---------------------------------------------------------------- speech fusion (English)
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


def align(ocr: list[str], asr: list[str]) -> list[int | None]:
    """For each OCR word, the index of the ASR word it lines up with (None: inserted by the OCR).

    Word-level edit distance where substituting costs the normalised character distance, so that
    "lease"/"please" pair up and unrelated words rather become an insertion plus a deletion."""
    n, m = len(ocr), len(asr)
    cost = np.zeros((n + 1, m + 1))
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            sub = levenshtein(ocr[i - 1], asr[j - 1]) / max(len(ocr[i - 1]), len(asr[j - 1]), 1)
            cost[i, j] = min(cost[i - 1, j] + 1, cost[i, j - 1] + 1, cost[i - 1, j - 1] + 2 * sub)
    pairs: list[int | None] = [None] * n
    i, j = n, m
    while i > 0 and j > 0:
        sub = levenshtein(ocr[i - 1], asr[j - 1]) / max(len(ocr[i - 1]), len(asr[j - 1]), 1)
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
        tokens[k] = m.group(1) + _restyle(candidate, m.group(2)) + m.group(3)
        changed += 1
    return " ".join(tokens), changed


def fuse_speech(ctx: JobContext, tracks: list[Track], confs: dict[int, CharConfs]) -> int:
    """Decode the audio of each unsure cue and correct its doubtful words; returns words changed."""
    from airflow_iprod.local.algorithms import asr
    from airflow_iprod.local.algorithms._audio_decode import load_mono

    audio = load_mono(ctx.input_path, asr.RATE)
    pcm = asr.to_pcm16(asr.prepare(audio))  # whole-track normalisation plus the faint noise floor
    decoder = asr._decoder()
    changed = 0
    for i, char_confs in confs.items():
        tr = tracks[i]
        a = max(0, round((tr.start - AUDIO_PAD) * asr.RATE))
        b = min(len(pcm), round((tr.last + AUDIO_PAD) * asr.RATE))
        words: list[str] = []
        for s, e in asr.utterances(pcm[a:b]):
            words += [w.text.lower() for w in asr.decode(decoder, pcm[a + s : a + e], (a + s) / asr.RATE)]
        text, n = fuse_line(tr.text, char_confs, words)
        ctx.log(f"cue at {tr.start:.2f} s: OCR {tr.text!r}, heard {' '.join(words)!r}, {n} word(s) corrected")
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
    if lang == "en" and confs and has_audio(ctx.input_path):
        ctx.log(f"{fuse_speech(ctx, tracks, confs)} word(s) corrected from speech")
    target = ctx.new_output(ext=".srt")
    write_srt(to_cues(tracks, fps), target.path)
    return AlgorithmResult(outputs=[target], result={})
