"""URLs the engine hands out (GetMediaInfo's FileUrl; OutputUrls are checked in tests/local/clients)
point at the engine and download as they are; failure messages name objects, not the worker's disk."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from alibabacloud_ice20201109 import models as m
from Tea.exceptions import TeaException

from airflow_iprod.local import worker


def test_media_file_url_downloads_and_honours_auth_timeout(
    local_engine: Any, upload: Any, ice_client: Any
) -> None:
    url = upload(b"frames", "urls/clip.mp4")
    media_id = ice_client.register_media_info(m.RegisterMediaInfoRequest(input_url=url)).body.media_id
    for timeout, expect in ((None, 3600), (120, 120)):
        before = int(time.time())
        request = m.GetMediaInfoRequest(media_id=media_id, auth_timeout=timeout)
        (info,) = ice_client.get_media_info(request).body.media_info.file_info_list
        file_url = info.file_basic_info.file_url
        assert file_url.startswith(f"http://{local_engine.endpoint}/media/urls/clip.mp4?"), file_url
        expires = int(parse_qs(urlsplit(file_url).query)["Expires"][0])
        assert before + expect <= expires <= int(time.time()) + expect + 1
        assert requests.get(file_url, timeout=10).content == b"frames"
    with pytest.raises(TeaException) as info:
        ice_client.get_media_info(m.GetMediaInfoRequest(media_id=media_id, auth_timeout=0))
    assert info.value.code == "InvalidParameter" and "AuthTimeout" in info.value.message


def test_failure_messages_name_objects_not_local_paths(tmp_path: Path) -> None:
    task = {"output_template": "oss://media/out/{source}.wav", "source": "take", "timestamp": 1}
    outputs = worker._Outputs(task, tmp_path)
    target = outputs.new_output()
    local_input = tmp_path / "in" / "001" / "take.wav"
    message = f"Error opening {str(local_input)!r}; could not write {target.path} (cwd {tmp_path}/scratch)"
    public = worker._public(message, {str(local_input): "oss://media/in/take.wav"}, outputs, tmp_path)
    assert (
        public
        == "Error opening 'oss://media/in/take.wav'; could not write oss://media/out/take.wav (cwd /scratch)"
    )
    assert str(tmp_path) not in public
