"""The ``oss`` asset URI scheme as Airflow applies it: through the provider info, not by calling ours."""

from __future__ import annotations

import pytest


def test_provider_registers_the_oss_scheme():
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    from airflow_iprod.assets import oss

    manager = ProvidersManagerTaskRuntime()
    assert manager.asset_uri_handlers["oss"] is oss.sanitize_uri
    assert manager.asset_factories["oss"] is oss.create_asset
    assert manager.asset_to_openlineage_converters["oss"] is oss.convert_asset_to_openlineage


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("oss://media/talks/a.wav", "oss://media/talks/a.wav"),
        ("oss://media/talks/", "oss://media/talks"),  # Airflow drops the trailing slash
        ("OSS://media/a.wav", "oss://media/a.wav"),
        ("oss://media.oss-cn-hangzhou.aliyuncs.com/a.wav", "oss://media/a.wav"),  # virtual host: same bucket
        ("oss://media.oss-cn-shanghai-internal.aliyuncs.com/a.wav", "oss://media/a.wav"),
        ("oss://media", "oss://media/"),
    ],
)
def test_asset_uris_are_normalised(given, normalised):
    from airflow.sdk import Asset

    assert Asset(given).uri == normalised


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("oss:///a.wav", "has no bucket"),
        ("oss://Media/a.wav", "'Media' is not a valid OSS bucket name"),
        ("oss://my_bucket/a.wav", "'my_bucket' is not a valid OSS bucket name"),
        ("oss://ab/a.wav", "'ab' is not a valid OSS bucket name"),
    ],
)
def test_bad_buckets_are_refused(given, problem):
    from airflow.sdk import Asset

    with pytest.raises(ValueError, match=problem):
        Asset(given)


def test_factory_and_openlineage_converter():
    from airflow.providers.common.compat.openlineage.utils.utils import translate_airflow_asset
    from airflow.sdk import Asset

    from airflow_iprod.assets.oss import create_asset

    asset = create_asset(bucket="media", key="/out/a.srt", extra={"k": "v"})
    assert asset == Asset("oss://media/out/a.srt", extra={"k": "v"})
    # the OpenLineage provider's own translation finds our converter by the scheme
    dataset = translate_airflow_asset(asset, None)
    assert (dataset.namespace, dataset.name) == ("oss://media", "out/a.srt")
    bucket = translate_airflow_asset(create_asset(bucket="media"), None)
    assert (bucket.namespace, bucket.name) == ("oss://media", "/")
