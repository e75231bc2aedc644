"""Fixtures of the client conformance matrix: a fresh bucket a test (``env``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.local.clients.scenarios import REGION, Env


@pytest.fixture
def env(local_engine: object, tmp_path: Path, request: pytest.FixtureRequest) -> Env:
    store = local_engine.engine.objects  # type: ignore[attr-defined]
    bucket = "cc-" + hashlib.md5(request.node.nodeid.encode()).hexdigest()[:24]
    store.create_bucket(bucket, REGION)
    return Env(bucket, tmp_path, store)
