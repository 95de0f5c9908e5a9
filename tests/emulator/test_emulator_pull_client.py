"""The emulator's pull client (`_outbound.download`): what TikTok does with a media URL's answer.

A real socket server on loopback sends each answer exactly as written here, including the
broken ones a client library would smooth over: only a whole 200 answer counts as pulled.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from directpost.emulator import _outbound

pytestmark = pytest.mark.anyio
BODY = bytes(range(256)) * 4096  # 1 MiB, every byte value


@pytest.fixture
def canned() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A server answering `GET /<name>` with `answers[name]` as raw bytes, then closing."""
    answers: dict[str, bytes] = {}
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)  # not the listening socket's short accept timeout
            with conn:
                head = b""
                while b"\r\n\r\n" not in head:
                    piece = conn.recv(4096)
                    if not piece:
                        break
                    head += piece
                name = head.split(b" ", 2)[1].decode().lstrip("/")
                conn.sendall(
                    answers.get(name, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                )
                if name == "stalls":  # stops sending and keeps the connection open
                    with contextlib.suppress(OSError):
                        conn.recv(1)  # returns when the client goes away

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/", answers
    stop.set()
    thread.join(2)
    server.close()


async def _pull(url: str, max_bytes: int = 10 * len(BODY)) -> bytes:
    got = bytearray()
    await _outbound.download(url, got.extend, max_bytes=max_bytes, timeout_s=10)
    return bytes(got)


async def test_a_whole_answer_is_pulled_byte_for_byte_with_length_or_chunked(
    canned: tuple[str, dict[str, bytes]],
) -> None:
    base, answers = canned
    answers["length"] = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY
    chunks = b"".join(
        b"%x\r\n" % 100_000 + BODY[i : i + 100_000] + b"\r\n"
        for i in range(0, len(BODY), 100_000)
        if len(BODY[i : i + 100_000]) == 100_000
    )
    tail = BODY[len(BODY) // 100_000 * 100_000 :]
    chunks += b"%x\r\n" % len(tail) + tail + b"\r\n0\r\n\r\n"
    answers["chunked"] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks
    assert await _pull(base + "length") == BODY
    assert await _pull(base + "chunked") == BODY


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n" + BODY, "closed before the end"),
        (b"HTTP/1.1 302 Found\r\nLocation: /length\r\nContent-Length: 0\r\n\r\n", "HTTP 302"),
        (b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", "HTTP 500"),
        (b"SSH-2.0-OpenSSH_9.2\r\n", "not valid HTTP"),
        (b"", "closed before the end"),
    ],
    ids=["cut-short", "redirect", "server-error", "not-http", "nothing"],
)
async def test_anything_but_a_whole_200_answer_fails_the_pull(
    canned: tuple[str, dict[str, bytes]], answer: bytes, says: str
) -> None:
    base, answers = canned
    answers["x"] = answer
    with pytest.raises(_outbound.PullFailed, match=says):
        await _pull(base + "x")


async def test_a_body_over_the_limit_stops_the_pull(canned: tuple[str, dict[str, bytes]]) -> None:
    base, answers = canned
    answers["big"] = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY
    with pytest.raises(_outbound.PullFailed, match="larger than"):
        await _pull(base + "big", max_bytes=len(BODY) - 1)


async def test_nothing_listening_and_bad_urls_fail_the_pull_cleanly() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    for url in (f"http://127.0.0.1:{port}/v.mp4", "ftp://example.invalid/v.mp4", "http://:80/"):
        with pytest.raises(_outbound.PullFailed):
            await _pull(url)


async def test_a_cancelled_pull_of_a_stalled_answer_ends_at_once(
    canned: tuple[str, dict[str, bytes]],
) -> None:
    base, answers = canned
    answers["stalls"] = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"  # then nothing
    task = asyncio.ensure_future(_pull(base + "stalls"))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
