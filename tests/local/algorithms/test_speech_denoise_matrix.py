"""SpeechDenoise over the speech-and-noise matrix (tests/mediagen/speech_matrix.py), cell by cell.

CI runs the pairwise cover (every voice with every noise, every SNR with every voice and noise: 36
cells) plus the worst cell of each axis value found by the full matrix (bench/bench_speech_denoise.py,
108 cells). Each cell asserts:

* the issue's bar, +6 dB SI-SDR, on white, pink and brown noise at 5 dB SNR;
* a floor on every other cell: the worst gain the full matrix measured for that noise, less 0.5 dB,
  so a change that makes any cell worse than what the README reports fails here.

Babble, street and music beds at 5 dB SNR are held to the 6 dB bar too, as strict expected failures
carrying their measured figure where they miss it (reported, not hidden: the README quotes them);
one that starts to pass fails as XPASS, so its figure gets updated.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.mediagen import metrics, speech_matrix
from tests.mediagen.speech_matrix import Cell

pytestmark = pytest.mark.slow

SECONDS = 6.0
RATE = 16000
BAR_DB = 6.0

# Worst gain per noise over the full matrix (6 voices x 0/5/10 dB), SpeechDenoise as committed,
# from bench/bench_speech_denoise.py --matrix: the floor is this less 0.5 dB.
WORST_BY_NOISE = {"white": 4.84, "pink": 5.23, "brown": 8.63, "babble": 3.63, "street": 4.93, "music": 3.83}
# The worst cell of each axis value in that run (per voice, per noise, per SNR, and of white/pink/brown
# at 5 dB), added to the pairwise cover.
WORST_CELLS: tuple[Cell, ...] = tuple(
    Cell(voice, kind, snr)
    for voice, kind, snr in (
        ("en-us", "babble", 10.0),
        ("en-us+f3", "music", 10.0),
        ("en-gb+m3", "music", 10.0),
        ("de", "music", 10.0),
        ("fr", "babble", 10.0),
        ("cmn", "babble", 10.0),
        ("en-us+f3", "white", 10.0),
        ("en-gb+m3", "pink", 10.0),
        ("en-gb+m3", "brown", 10.0),
        ("de", "street", 10.0),
        ("fr", "babble", 0.0),
        ("fr", "music", 5.0),
        ("fr", "pink", 5.0),
    )
)
# Cells of the CI set at 5 dB SNR of the non-stationary noises that miss the 6 dB bar, measured gain.
BELOW_BAR: dict[Cell, float] = {
    Cell("en-us+f3", "babble", 5.0): 5.24,
    Cell("en-gb+m3", "music", 5.0): 4.64,
    Cell("de", "street", 5.0): 5.95,
    Cell("fr", "babble", 5.0): 4.57,
    Cell("cmn", "music", 5.0): 4.89,
    Cell("fr", "music", 5.0): 4.09,
}

_gains: dict[Cell, float] = {}


def _gain(run_algorithm, tmp_path: Path, cell: Cell) -> float:
    if cell not in _gains:
        clean, noisy = cell.mixture(SECONDS, RATE)
        src = tmp_path / f"{cell.id}.wav"
        sf.write(str(src), noisy, RATE, subtype="PCM_16")
        result = run_algorithm("SpeechDenoise", src)
        out, rate = sf.read(str(result.outputs[0].path), dtype="float32")
        assert rate == RATE and out.shape == noisy.shape
        noisy_read, _ = sf.read(str(src), dtype="float32")  # the 16-bit input the job really saw
        _gains[cell] = metrics.si_sdr(clean, out) - metrics.si_sdr(clean, noisy_read)
        print(f"{cell.id}: {_gains[cell]:+.2f} dB")
    return _gains[cell]


def _ci_cells() -> list[Cell]:
    cells = speech_matrix.pairwise()
    return cells + [c for c in WORST_CELLS if c not in cells]


@pytest.mark.parametrize("cell", _ci_cells(), ids=lambda c: c.id)
def test_gain_in_every_cell(run_algorithm, tmp_path: Path, cell: Cell) -> None:
    gain = _gain(run_algorithm, tmp_path, cell)
    if cell.noise in speech_matrix.STATIONARY and cell.snr == 5.0:
        assert gain >= BAR_DB, f"{cell.id}: {gain:.2f} dB, bar {BAR_DB} dB"
    floor = WORST_BY_NOISE[cell.noise] - 0.5
    assert gain >= floor, (
        f"{cell.id}: {gain:.2f} dB, below the matrix's worst {cell.noise} figure less 0.5 dB"
    )


def _bar_cells() -> list:
    cells = [c for c in _ci_cells() if c.noise not in speech_matrix.STATIONARY and c.snr == 5.0]
    return [
        pytest.param(
            c,
            id=c.id,
            marks=pytest.mark.xfail(
                strict=True, reason=f"{c.id}: +{BELOW_BAR[c]:.2f} dB SI-SDR, 6 dB bar not met (README)"
            ),
        )
        if c in BELOW_BAR
        else pytest.param(c, id=c.id)
        for c in cells
    ]


@pytest.mark.parametrize("cell", _bar_cells())
def test_six_db_bar_on_babble_street_and_music(run_algorithm, tmp_path: Path, cell: Cell) -> None:
    assert _gain(run_algorithm, tmp_path, cell) >= BAR_DB


def test_pairwise_cover_is_complete() -> None:
    """Every value pair of any two axes occurs in the CI cells, and the generated Mandarin is Mandarin."""
    cells = _ci_cells()
    voices, noises, snrs = speech_matrix.VOICES, speech_matrix.NOISES, speech_matrix.SNRS
    assert {(c.voice, c.noise) for c in cells} >= {(v, n) for v in voices for n in noises}
    assert {(c.voice, c.snr) for c in cells} >= {(v, s) for v in voices for s in snrs}
    assert {(c.noise, c.snr) for c in cells} >= {(n, s) for n in noises for s in snrs}
    assert len({c.seed for c in speech_matrix.full()}) == len(speech_matrix.full())


def test_noises_have_their_character() -> None:
    """Each noise is what its name says: spectral slope for white/pink/brown (about 0, -3 and -6 dB
    per octave), street's energy mostly below 300 Hz with loud transients, music harmonic (peaky)."""
    n = 4 * RATE
    freqs = np.fft.rfftfreq(n, 1 / RATE)

    def band_db(x: np.ndarray, lo: float, hi: float) -> float:
        power = np.abs(np.fft.rfft(x)) ** 2
        return 10 * np.log10(np.mean(power[(freqs >= lo) & (freqs < hi)]))

    def octave_slope(x: np.ndarray) -> float:
        return (band_db(x, 3200, 6400) - band_db(x, 200, 400)) / 4

    white, pink, brown = (speech_matrix.make_noise(k, n, RATE, 1) for k in speech_matrix.STATIONARY)
    assert abs(octave_slope(white)) < 0.5
    assert -3.6 < octave_slope(pink) < -2.4
    assert -6.6 < octave_slope(brown) < -5.4
    street = speech_matrix.make_noise("street", n, RATE, 1)
    assert band_db(street, 20, 300) > band_db(street, 300, 8000) + 10
    frames = street[: n // 400 * 400].reshape(-1, 400)
    assert np.max(np.abs(frames)) > 4 * np.median(np.sqrt(np.mean(frames**2, axis=1)))  # transients
    music = speech_matrix.make_noise("music", n, RATE, 1)
    spectrum = np.abs(np.fft.rfft(music))
    assert np.percentile(spectrum, 99.9) > 30 * np.median(spectrum)  # partials stand out
