"""Every algorithm has a benchmarked speed, so the trigger can plan its polls."""

from __future__ import annotations

import pytest

from airflow_iprod import catalog
from airflow_iprod.catalog.speeds import SPEEDS, expected_seconds


def test_every_algorithm_has_a_speed():
    names = {spec.name for spec in catalog.specs._SPECS}
    assert names == set(SPEEDS)


@pytest.mark.parametrize("name", sorted(SPEEDS))
def test_longer_media_takes_no_less(name):
    short, long = expected_seconds(name, 10.0), expected_seconds(name, 600.0)
    assert 0 < short <= long


def test_unknown_algorithm_has_no_estimate():
    assert expected_seconds("NoSuchAlgorithm", 10.0) is None


def test_a_ten_minute_music_demix_is_expected_to_run_minutes():
    assert 300 < expected_seconds("MusicDemix", 600.0) < 1000
