"""A local S3-compatible server for the burst benchmark's `--media s3` rounds."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

from tests.fixtures.processes import free_port, wait_until_answers

#: The bucket of the S3 rounds, and the credentials every process uses with the local server.
S3_BUCKET = "directpost-bench"
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "directpost-bench",
    "AWS_SECRET_ACCESS_KEY": "directpost-bench-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """An S3-compatible server on loopback (moto's, in its own process, so its CPU is not the
    benchmark's), with the bucket made; yields its URL."""
    import boto3

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **S3_ENV},
    )
    try:
        wait_until_answers(url + "/", process=server)
        boto3.client("s3", endpoint_url=url, **_boto_credentials()).create_bucket(Bucket=S3_BUCKET)
        os.environ.update(S3_ENV)  # this process's own store (the batch's video) too
        yield url
    finally:
        server.terminate()
        server.wait(30)


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": S3_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": S3_ENV["AWS_SECRET_ACCESS_KEY"],
        "region_name": S3_ENV["AWS_DEFAULT_REGION"],
    }
