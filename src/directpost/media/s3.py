"""Media in an S3-compatible bucket (the scaled-out size): the same `MediaStore` contract as a
local folder, with resumable uploads as S3 multipart uploads. Imported only when an operator
chooses `s3://` storage (`media_store_from_settings`), so boto3 is needed only then."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from directpost.media.storage import (
    READ_PIECE_BYTES,
    Chunk,
    MediaNotFoundError,
    MediaStoreError,
    OffsetMismatchError,
    StoredObject,
    chunk_pieces,
    validate_key,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["S3_MIN_PART_BYTES", "S3MediaStore"]

#: Smallest S3 multipart part (every part but the last must reach it).
S3_MIN_PART_BYTES = 5 * 1024 * 1024


class S3MediaStore:
    """Media in an S3-compatible bucket, under `prefix/`.

    A resumable upload is an S3 multipart upload. Bytes arrive in chunks of any size, but every
    part but the last must be at least 5 MiB, so bytes short of a part wait in a "tail" object
    named after the part they will become (`.partial/<key>.tail-<n>`); the upload's size is the
    parts' sizes plus that tail. Every step leaves that sum right, so a crash between two steps
    loses nothing: stale tails (of a smaller `n`) are ignored and cleaned up.
    Chunks of 5 MiB or more skip the tail and become parts directly.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        *,
        client: S3Client | None = None,
    ) -> None:
        if client is None:
            import boto3  # the "scale" extra; only needed when S3 storage is chosen

            client = boto3.client("s3", endpoint_url=endpoint_url or None)
        self.client: S3Client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    # names
    def _name(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _tail_name(self, key: str, part_count: int) -> str:
        base = f"{self.prefix}/.partial/{key}" if self.prefix else f".partial/{key}"
        return f"{base}.tail-{part_count}"

    # S3 state of an upload
    def _upload_id(self, name: str) -> str | None:
        found = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=name)
        mine = [u for u in found.get("Uploads", []) if u.get("Key") == name]
        if not mine:
            return None
        mine.sort(key=lambda u: u.get("Initiated", datetime.min.replace(tzinfo=UTC)))
        return str(mine[-1]["UploadId"])

    def _parts(self, name: str, upload_id: str) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("list_parts")
        for page in paginator.paginate(Bucket=self.bucket, Key=name, UploadId=upload_id):
            parts.extend(dict(p) for p in page.get("Parts", []))
        parts.sort(key=lambda p: int(p["PartNumber"]))
        return parts

    def _head(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self.client.head_object(Bucket=self.bucket, Key=name))
        except self.client.exceptions.ClientError as exc:
            if _status(exc) == 404:
                return None
            raise

    def _state(self, key: str) -> tuple[str | None, list[dict[str, Any]], int | None]:
        """(upload id, parts, size of the current tail) — None tail size: no tail."""
        name = self._name(key)
        upload_id = self._upload_id(name)
        parts = self._parts(name, upload_id) if upload_id else []
        tail = self._head(self._tail_name(key, len(parts)))
        return upload_id, parts, None if tail is None else int(tail["ContentLength"])

    def _read_tail(self, key: str, part_count: int) -> bytes:
        answer = self.client.get_object(Bucket=self.bucket, Key=self._tail_name(key, part_count))
        return answer["Body"].read()

    def _drop_tails(self, key: str) -> None:
        base = self._tail_name(key, 0).rsplit(".tail-", 1)[0] + ".tail-"
        listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=base)
        for item in listing.get("Contents", []):
            self.client.delete_object(Bucket=self.bucket, Key=item["Key"])

    # protocol
    def upload_size(self, key: str) -> int | None:
        upload_id, parts, tail = self._state(key)
        if upload_id is None and tail is None:
            return None
        return sum(int(p["Size"]) for p in parts) + (tail or 0)

    def append(self, key: str, offset: int, data: Chunk) -> int:
        name = self._name(key)
        upload_id, parts, tail_size = self._state(key)
        if upload_id is None and tail_size is None and self._head(name) is not None:
            raise MediaStoreError(
                f"{key!r} is already finished; delete it first to upload it again."
            )
        held = sum(int(p["Size"]) for p in parts) + (tail_size or 0)
        if offset != held:
            raise OffsetMismatchError(key, expected=held, given=offset)
        added = data if isinstance(data, bytes) else b"".join(chunk_pieces(data))
        pending = (self._read_tail(key, len(parts)) if tail_size else b"") + added
        if len(pending) >= S3_MIN_PART_BYTES:
            if upload_id is None:
                upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=name)[
                    "UploadId"
                ]
            self.client.upload_part(
                Bucket=self.bucket,
                Key=name,
                UploadId=upload_id,
                PartNumber=len(parts) + 1,
                Body=pending,
            )
            # The new part count makes the old tail stale; remove it (harmless if this fails).
            if tail_size is not None:
                self.client.delete_object(Bucket=self.bucket, Key=self._tail_name(key, len(parts)))
        else:
            self.client.put_object(
                Bucket=self.bucket, Key=self._tail_name(key, len(parts)), Body=pending
            )
        return held + len(added)

    def finalize(self, key: str, *, expected_size: int | None = None) -> StoredObject:
        name = self._name(key)
        upload_id, parts, tail_size = self._state(key)
        if upload_id is None and tail_size is None:
            done = self.stat(key)
            if done is None:
                raise MediaNotFoundError(f"No upload of {key!r} to finish: start it again.")
            return done
        held = sum(int(p["Size"]) for p in parts) + (tail_size or 0)
        if expected_size is not None and held != expected_size:
            raise OffsetMismatchError(key, expected=held, given=expected_size)
        tail = self._read_tail(key, len(parts)) if tail_size is not None else b""
        if upload_id is None:
            self.client.put_object(Bucket=self.bucket, Key=name, Body=tail)
        else:
            done_parts = [{"ETag": p["ETag"], "PartNumber": int(p["PartNumber"])} for p in parts]
            if tail:
                answer = self.client.upload_part(
                    Bucket=self.bucket,
                    Key=name,
                    UploadId=upload_id,
                    PartNumber=len(parts) + 1,
                    Body=tail,
                )
                done_parts.append({"ETag": answer["ETag"], "PartNumber": len(parts) + 1})
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=name,
                UploadId=upload_id,
                MultipartUpload={"Parts": done_parts},  # type: ignore[typeddict-item]
            )
        self._drop_tails(key)
        done = self.stat(key)
        assert done is not None
        return done

    def put(self, key: str, data: Chunk) -> StoredObject:
        self.delete(key)
        offset = 0
        buffer = bytearray()
        for piece in chunk_pieces(data):
            buffer += piece
            if len(buffer) >= S3_MIN_PART_BYTES:
                offset = self.append(key, offset, bytes(buffer))
                buffer.clear()
        if buffer or offset == 0:
            self.append(key, offset, bytes(buffer))
        return self.finalize(key)

    def stat(self, key: str) -> StoredObject | None:
        head = self._head(self._name(key))
        if head is None:
            return None
        return StoredObject(
            key=key,
            size_bytes=int(head["ContentLength"]),
            etag=str(head["ETag"]),
            # boto3 gives dateutil's tzutc; the HTTP date formatter accepts only datetime.UTC.
            last_modified=head["LastModified"].astimezone(UTC),
        )

    def iter_bytes(self, key: str, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        name = self._name(key)
        if stop is not None and stop <= start:
            if self.stat(key) is None:
                raise MediaNotFoundError(f"No media stored under {key!r}.")
            return iter(())
        span = f"bytes={start}-" if stop is None else f"bytes={start}-{stop - 1}"
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=name, Range=span)
        except self.client.exceptions.NoSuchKey:
            raise MediaNotFoundError(f"No media stored under {key!r}.") from None
        except self.client.exceptions.ClientError as exc:
            if _status(exc) == 416:  # empty object, or start at its end
                return iter(())
            raise
        return _stream_body(answer["Body"])

    def open_binary(self, key: str) -> BinaryIO:
        found = self.stat(key)
        if found is None:
            raise MediaNotFoundError(f"No media stored under {key!r}.")
        raw = _S3RangeReader(self, key, found.size_bytes)
        return io.BufferedReader(raw, buffer_size=READ_PIECE_BYTES)

    def delete(self, key: str) -> None:
        name = self._name(key)
        found = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=name)
        for upload in found.get("Uploads", []):
            if upload.get("Key") == name:
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=name, UploadId=upload["UploadId"]
                )
        self._drop_tails(key)
        self.client.delete_object(Bucket=self.bucket, Key=name)

    def iter_keys(self) -> Iterator[str]:
        # Three places hold a key's bytes: the object, tails of an unfinished upload
        # (`.partial/<key>.tail-<n>`) and S3 multipart uploads (with their parts); each is
        # mapped back to the key that `delete` removes whole.
        base = f"{self.prefix}/" if self.prefix else ""
        found: set[str] = set()
        objects = self.client.get_paginator("list_objects_v2")
        for page in objects.paginate(Bucket=self.bucket, Prefix=base):
            for item in page.get("Contents", []):
                name = item["Key"].removeprefix(base)
                if name.startswith(".partial/"):
                    name = name.removeprefix(".partial/").rsplit(".tail-", 1)[0]
                found.add(name)
        uploads = self.client.get_paginator("list_multipart_uploads")
        for listing in uploads.paginate(Bucket=self.bucket, Prefix=base):
            found.update(
                u["Key"].removeprefix(base) for u in listing.get("Uploads", []) if "Key" in u
            )
        return iter(sorted(found))


def _status(exc: Exception) -> int | None:
    response = getattr(exc, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None


def _stream_body(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(READ_PIECE_BYTES)
    finally:
        body.close()


class _S3RangeReader(io.RawIOBase):
    """A seekable raw reader over one S3 object, one ranged GET per read."""

    def __init__(self, store: S3MediaStore, key: str, size: int) -> None:
        super().__init__()
        self._store = store
        self._key = key
        self._size = size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        stop = min(self._size, self._position + len(view))
        if stop <= self._position:
            return 0
        filled = 0
        for piece in self._store.iter_bytes(self._key, self._position, stop):
            view[filled : filled + len(piece)] = piece
            filled += len(piece)
        self._position += filled
        return filled
