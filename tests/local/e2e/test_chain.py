"""Chains through the SDKs, as a DAG author builds them: the output of one job is the input of the next.

* ICE, by media ID: SpeechDenoise writes a new media asset (Output.Type=Media), whose ID is the
  Input.Type=Media of AudioQualityAssessment; the MOS-like score must rise over the noisy original.
* MPS, by URL: TextToSpeech writes a WAV that ASR transcribes back to the text (WER).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from alibabacloud_ice20201109 import models as ice_models

from airflow_iprod.local.algorithms import is_available
from tests.mediagen import noise, speech
from tests.mediagen.wer import wer

pytestmark = pytest.mark.slow


def _need(*names: str) -> pytest.MarkDecorator:
    missing = [n for n in names if not is_available(n)]
    return pytest.mark.skipif(bool(missing), reason=f"{missing} not in the local engine yet")


@_need("SpeechDenoise", "AudioQualityAssessment")
def test_denoise_to_new_asset_then_assess_by_media_id(
    jobs: Any, upload: Any, ice_client: Any, tmp_path: Path
) -> None:
    rate = 16000
    clean = speech.speech_clip(8, rate, first=3)
    sf.write(tmp_path / "street.wav", noise.mix_at_snr(clean, noise.white(len(clean), seed=7), 5.0), rate)
    url = upload(tmp_path / "street.wav", "e2e/chain/street.wav")
    raw = ice_client.register_media_info(ice_models.RegisterMediaInfoRequest(input_url=url, title="street"))
    raw_id = raw.body.media_id
    # The noisy original is assessed by media ID at the same time as the denoiser runs.
    before = jobs.submit("ice", "AudioQualityAssessment", raw_id, None, input_type="Media")
    denoise = jobs.submit(
        "ice", "SpeechDenoise", raw_id, "oss://media/e2e/chain/{source}-clean-{timestamp}.wav",
        input_type="Media", output_type="Media", biz="IMS",
    )  # fmt: skip
    jobs.wait(denoise)
    (new_id,) = denoise.body["OutputMediaIds"]
    assert new_id and new_id != raw_id and denoise.body["Output"]["Media"] == new_id
    (out_url,) = jobs.outputs(denoise)
    info = ice_client.get_media_info(ice_models.GetMediaInfoRequest(media_id=new_id)).body.media_info
    assert info.media_basic_info.input_url == out_url

    after = jobs.submit("ice", "AudioQualityAssessment", new_id, None, input_type="Media")
    jobs.wait(before)
    jobs.wait(after)
    assert after.body["Input"] == {"Type": "Media", "Media": new_id}
    assert after.input_url == out_url  # the second job read the first one's output
    mos_before, mos_after = (float(j.result[0]["MOS(0-5)"]) for j in (before, after))
    noisy_before, noisy_after = (float(j.result[0]["Noisiness(0-5)"]) for j in (before, after))
    print(f"E2E chain SpeechDenoise -> AudioQualityAssessment: MOS {mos_before:.2f} -> {mos_after:.2f}, "
          f"Noisiness score {noisy_before:.2f} -> {noisy_after:.2f}")  # fmt: skip
    assert mos_after > mos_before + 0.3
    assert noisy_after > noisy_before


@_need("TextToSpeech", "ASR")
def test_text_to_speech_then_asr(jobs: Any) -> None:
    text = " ".join(speech.SENTENCES[9:11])
    tts = jobs.submit(
        "mts", "TextToSpeech", None, "oss://media/e2e/chain/tts-{timestamp}.wav", {"text": text}
    )
    jobs.wait(tts)
    (wav_url,) = jobs.outputs(tts)
    asr = jobs.submit("mts", "ASR", wav_url, "oss://media/e2e/chain/{source}.srt", {"lang": "en"})
    jobs.wait(asr)
    (srt_url,) = jobs.outputs(asr)
    assert srt_url == f"oss://media/e2e/chain/{Path(wav_url).stem}.srt"
    score = wer(text, asr.result["Text"])
    print(f"E2E chain TextToSpeech -> ASR: WER {100 * score:.1f}% ({asr.result['Text']!r})")
    # espeak at 175 wpm into PocketSphinx: ~44% measured here, worse than slower dictation (~33%)
    assert score <= 0.50
