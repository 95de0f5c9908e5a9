"""The upload host's bodies under the real server: socket to file, then a fresh parser.

Under uvicorn a chunk's body goes from the socket to the file without ASGI messages
(``server.BodyToFileProtocol``) and its SHA-256 is taken by a hashing thread as it arrives
(``runtime.UploadDigest``). These tests hold what that must not change: a chunk cut off counts
for nothing (not in the file, not in the digest), the request after a body on the same
connection is read as a request, ``Expect: 100-continue`` is answered, and the in-process app
(no such extension) keeps the same digest.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import httpx2
import pytest
from starlette.applications import Starlette

from tests.emulator.helpers import MIB, put_chunk, sha256, video_init_body
from tests.fixtures.emulator import EmulatorHandle

VIDEO_INIT = "/v2/post/publish/video/init/"


def put_head(url: str, length: int, first: int, total: int, *extra: str) -> bytes:
    """The head of a chunk PUT, as bytes on the wire."""
    parts = urlsplit(url)
    lines = [
        f"PUT {parts.path}?{parts.query} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Content-Type: video/mp4",
        f"Content-Range: bytes {first}-{first + length - 1}/{total}",
        f"Content-Length: {length}",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname or "", parts.port or 80), timeout=30)


class Responses:
    """Reads HTTP/1.1 responses (with Content-Length bodies) one after another off a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def next(self) -> tuple[int, dict[str, str]]:
        while b"\r\n\r\n" not in self.buffer:
            piece = self.sock.recv(65536)
            assert piece, "the server closed the connection"
            self.buffer += piece
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self.buffer += self.sock.recv(65536)
        self.buffer = self.buffer[length:]
        return int(status_line.split()[1]), headers


def test_a_chunk_cut_off_mid_body_counts_neither_in_the_file_nor_in_the_digest(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    chunk = 20 * MIB  # more than the hashing step: part of the cut chunk was already hashed
    data = bytes(range(256)) * (2 * chunk // 256)
    init = h.api(
        VIDEO_INIT, h.token("demo-public"), video_init_body(size=2 * chunk, chunk=chunk, count=2)
    )
    url = init.json()["data"]["upload_url"]
    publish_id = init.json()["data"]["publish_id"]
    with connect(url) as sock:
        sock.sendall(put_head(url, chunk, 0, 2 * chunk) + b"z" * (12 * MIB))
    deadline = time.monotonic() + 10
    while (first := put_chunk(url, data[:chunk], 0, 2 * chunk)).status_code == 416:
        # The server may not have seen the close yet: the cut chunk is still "being received".
        assert time.monotonic() < deadline, first.text
        time.sleep(0.05)
    assert first.status_code == 206
    assert put_chunk(url, data[chunk:], chunk, 2 * chunk).status_code == 201
    assert h.publish(publish_id)["sha256"] == sha256(data)


def test_requests_sent_right_after_a_body_on_one_connection_are_all_answered(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    chunk = 5 * MIB
    data = b"\x07" * (2 * chunk)
    init = h.api(
        VIDEO_INIT, h.token("demo-public"), video_init_body(size=2 * chunk, chunk=chunk, count=2)
    )
    url = init.json()["data"]["upload_url"]
    config = f"GET /_emulator/config HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\n\r\n".encode()
    with connect(url) as sock:
        # Pipelined: the next request's bytes follow each body at once.
        sock.sendall(
            put_head(url, chunk, 0, 2 * chunk)
            + data[:chunk]
            + put_head(url, chunk, chunk, 2 * chunk)
            + data[chunk:]
            + config
        )
        responses = Responses(sock)
        assert responses.next()[0] == 206
        status, headers = responses.next()
        assert status == 201
        assert headers["content-range"] == f"bytes 0-{2 * chunk - 1}/{2 * chunk}"
        assert responses.next()[0] == 200
    assert h.publish(init.json()["data"]["publish_id"])["sha256"] == sha256(data)


def test_a_chunk_sent_with_expect_100_continue_gets_continue_then_its_answer(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    size = 2 * MIB
    init = h.api(VIDEO_INIT, h.token("demo-public"), video_init_body(size=size))
    url = init.json()["data"]["upload_url"]
    with connect(url) as sock:
        sock.sendall(put_head(url, size, 0, size, "Expect: 100-continue"))
        responses = Responses(sock)
        assert responses.next()[0] == 100
        sock.sendall(b"\x01" * size)
        assert responses.next()[0] == 201
    assert h.publish(init.json()["data"]["publish_id"])["sha256"] == sha256(b"\x01" * size)


@pytest.mark.anyio
async def test_in_process_app_gives_a_chunked_upload_the_same_digest(
    emulator_app: Starlette,
) -> None:
    chunk = 9 * MIB  # past the hashing step, as under the real server
    data = bytes(range(251)) * (2 * chunk // 251 + 1)
    transport = httpx2.ASGITransport(app=emulator_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://emulator") as client:
        tokens = await client.post("/_emulator/tokens", json={"open_id": "demo-public"})
        init = await client.post(
            VIDEO_INIT,
            headers={"Authorization": "Bearer " + tokens.json()["access_token"]},
            json=video_init_body(size=len(data), chunk=chunk, count=2),
        )
        url = init.json()["data"]["upload_url"]
        for first, last, code in ((0, chunk, 206), (chunk, len(data), 201)):
            put = await client.put(
                url,
                content=data[first:last],
                headers={
                    "Content-Type": "video/mp4",
                    "Content-Range": f"bytes {first}-{last - 1}/{len(data)}",
                },
            )
            assert put.status_code == code, put.text
        state = (await client.get("/_emulator/state")).json()
    (publish,) = [
        p for p in state["publishes"] if p["publish_id"] == init.json()["data"]["publish_id"]
    ]
    assert publish["sha256"] == sha256(data)
