"""Fixtures for the media tests: every MediaStore test runs against a local folder and against
a real S3-compatible server (moto's, on 127.0.0.1 with a free port)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from directpost.media.s3 import S3MediaStore
from directpost.media.storage import LocalMediaStore, MediaStore

S3_CREDENTIALS = {
    "aws_access_key_id": "directpost-test",
    "aws_secret_access_key": "directpost-test-secret",
    "region_name": "us-east-1",
}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """URL of a real S3-compatible server on loopback, for the whole session."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:  # pragma: no cover - depends on the machine
        if os.environ.get("CI") == "true":
            pytest.fail(
                "moto[server] is missing in CI: install the dev extra (pip install -e '.[dev]')"
            )
        pytest.skip("moto[server] is not installed (dev extra): S3 storage tests skipped")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, **S3_CREDENTIALS)


@pytest.fixture
def s3_store(s3_endpoint: str) -> S3MediaStore:
    """An S3MediaStore on a fresh bucket of the loopback S3 server."""
    client = s3_client(s3_endpoint)
    bucket = f"media-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3MediaStore(bucket, "uploads", s3_endpoint, client=client)


@pytest.fixture(params=["local", "s3"])
def media_store(request: pytest.FixtureRequest, tmp_path: Path) -> MediaStore:
    """Each store implementation in turn."""
    if request.param == "local":
        return LocalMediaStore(tmp_path / "media")
    store: S3MediaStore = request.getfixturevalue("s3_store")
    return store
