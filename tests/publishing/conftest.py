"""Fixtures of the publishing tests (the bench lives in harness.py)."""

from __future__ import annotations

from tests.publishing.harness import bench, file_upload_bench

__all__ = ["bench", "file_upload_bench"]
