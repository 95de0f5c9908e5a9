"""A refused chunk is answered after its body is read, so clients that write first see the answer.

urllib sends ``Connection: close`` and writes the whole body before it reads; had the upload host
closed with the body unread, the kernel would reset the connection and the client would report
"connection reset" instead of the 416/400/403/404 (RFC 9112 §9.6). Each client here sends a
refused chunk with its full body and must read the documented answer.
"""

from __future__ import annotations

import http.client
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.emulator.helpers import MIB, video_init_body
from tests.fixtures.emulator import EmulatorHandle

CHUNK = 5 * MIB
SIZE = 2 * CHUNK + 123  # two chunks, the last one 123 bytes longer


@dataclass(frozen=True)
class Refusal:
    """One way to have a chunk refused: what to send and what the host answers."""

    status: int
    says: str
    content_type: str = "video/mp4"
    first: int = 0  # the first chunk is expected; another offset is out of order


REFUSALS = {
    "416 out of order": Refusal(416, "Expected the chunk starting at byte 0.", first=CHUNK),
    "400 content type": Refusal(400, "Content-Type must be", content_type="text/plain"),
    "404 unknown upload": Refusal(404, "No upload task for this upload_url."),
    "403 expired url": Refusal(403, "This upload_url has expired"),
}


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    content_range: str | None


def _upload_url_for(h: EmulatorHandle, refusal: Refusal) -> str:
    init = h.api(
        "/v2/post/publish/video/init/",
        h.token(),
        video_init_body(privacy="SELF_ONLY", size=SIZE, chunk=CHUNK, count=2),
    )
    assert init.status_code == 200, init.text
    url = str(init.json()["data"]["upload_url"])
    if refusal.status == 404:
        return url.replace("upload_token=", "upload_token=forged")
    if refusal.status == 403:
        h.control("clock", {"advance_s": 3601})
    return url


def _chunk_headers(refusal: Refusal) -> dict[str, str]:
    last = refusal.first + CHUNK - 1
    return {
        "Content-Type": refusal.content_type,
        "Content-Range": f"bytes {refusal.first}-{last}/{SIZE}",
    }


def put_with_urllib(url: str, refusal: Refusal, body: bytes, tmp_path: Path) -> Answer:
    request = urllib.request.Request(url, data=body, method="PUT", headers=_chunk_headers(refusal))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(
                response.status, response.read().decode(), response.headers["Content-Range"]
            )
    except urllib.error.HTTPError as refused:  # a URLError (reset) is the failure under test
        return Answer(refused.code, refused.read().decode(), refused.headers["Content-Range"])


def put_with_requests(url: str, refusal: Refusal, body: bytes, tmp_path: Path) -> Answer:
    requests = pytest.importorskip("requests")
    with requests.Session() as session:
        session.trust_env = False
        response = session.put(url, data=body, headers=_chunk_headers(refusal), timeout=30)
        return Answer(response.status_code, response.text, response.headers.get("Content-Range"))


def put_with_curl(url: str, refusal: Refusal, body: bytes, tmp_path: Path) -> Answer:
    return _curl(url, refusal, body, tmp_path, expect_100=False)


def put_with_curl_expecting_100(url: str, refusal: Refusal, body: bytes, tmp_path: Path) -> Answer:
    return _curl(url, refusal, body, tmp_path, expect_100=True)


def _curl(url: str, refusal: Refusal, body: bytes, tmp_path: Path, *, expect_100: bool) -> Answer:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("the curl binary is not installed")
    chunk = tmp_path / "chunk.bin"
    chunk.write_bytes(body)
    headers = tmp_path / "headers.txt"
    args = [curl, "--silent", "--show-error", "--noproxy", "*", "-X", "PUT"]
    args += ["--data-binary", f"@{chunk}", "--dump-header", str(headers)]
    for name, value in _chunk_headers(refusal).items():
        args += ["-H", f"{name}: {value}"]
    # curl asks leave to send a body over 1 MiB (Expect: 100-continue) unless told not to; an
    # empty "Expect:" makes it write the whole body at once, as urllib does.
    args += ["-H", "Expect: 100-continue" if expect_100 else "Expect:"]
    done = subprocess.run([*args, url], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"curl failed ({done.returncode}): {done.stderr}"
    head = headers.read_text().splitlines()
    final = [line for line in head if line.startswith("HTTP/")][-1]
    content_range = next(
        (
            line.split(":", 1)[1].strip()
            for line in head
            if line.lower().startswith("content-range:")
        ),
        None,
    )
    return Answer(int(final.split()[1]), done.stdout, content_range)


CLIENTS: dict[str, Callable[[str, Refusal, bytes, Path], Answer]] = {
    "urllib": put_with_urllib,
    "requests": put_with_requests,
    "curl": put_with_curl,
    "curl-expect-100": put_with_curl_expecting_100,
}


@pytest.mark.parametrize("refusal_name", list(REFUSALS))
@pytest.mark.parametrize("client_name", list(CLIENTS))
def test_a_refused_chunk_sent_with_its_whole_body_gets_the_answer_not_a_reset(
    emulator_server: EmulatorHandle, tmp_path: Path, client_name: str, refusal_name: str
) -> None:
    h = emulator_server
    refusal = REFUSALS[refusal_name]
    url = _upload_url_for(h, refusal)
    answer = CLIENTS[client_name](url, refusal, b"\1" * CHUNK, tmp_path)
    assert answer.status == refusal.status
    assert refusal.says in answer.text
    if refusal.status in (400, 416):  # the upload exists: the answer says how far it got
        assert answer.content_range == f"bytes */{SIZE}"
    publishes = h.state()["publishes"]
    assert [p["uploaded_bytes"] for p in publishes] == [0]  # nothing of a refused chunk is kept


def test_after_a_refused_chunk_the_same_connection_carries_the_right_one(
    emulator_server: EmulatorHandle,
) -> None:
    """The refused body was read to its end: the next request on the connection parses."""
    h = emulator_server
    url = urlsplit(_upload_url_for(h, REFUSALS["416 out of order"]))
    target = f"{url.path}?{url.query}"
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
    try:
        out_of_order = _chunk_headers(REFUSALS["416 out of order"])
        connection.request("PUT", target, body=b"\1" * CHUNK, headers=out_of_order)
        refused = connection.getresponse()
        assert (refused.status, refused.read()) == (416, b"Expected the chunk starting at byte 0.")
        assert refused.getheader("Connection") is None  # kept open
        first_socket = connection.sock
        connection.request(
            "PUT", target, body=b"\1" * CHUNK, headers=_chunk_headers(Refusal(0, ""))
        )
        accepted = connection.getresponse()
        accepted.read()
        assert connection.sock is first_socket  # not a reconnection
        assert accepted.status == 206
        assert accepted.getheader("Content-Range") == f"bytes 0-{CHUNK - 1}/{SIZE}"
    finally:
        connection.close()


def _raw_put_head(url: str, headers: dict[str, str]) -> bytes:
    """Send a PUT's head only (no body) and read whatever the host answers until it closes."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.putrequest("PUT", f"{parts.path}?{parts.query}", skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        assert connection.sock is not None
        received = b""
        while piece := connection.sock.recv(65536):
            received += piece
        return received
    finally:
        connection.close()


def test_a_client_waiting_for_100_continue_gets_the_refusal_and_the_connection_closes(
    emulator_server: EmulatorHandle,
) -> None:
    h = emulator_server
    url = _upload_url_for(h, REFUSALS["416 out of order"])
    headers = {
        **_chunk_headers(REFUSALS["416 out of order"]),
        "Content-Length": str(CHUNK),
        "Expect": "100-continue",
    }
    answer = _raw_put_head(url, headers)
    assert answer.startswith(b"HTTP/1.1 416 ")  # no "100 Continue": the body is never asked for
    assert b"\r\nconnection: close\r\n" in answer.lower()
    assert answer.endswith(b"Expected the chunk starting at byte 0.")


def test_a_refused_body_longer_than_any_chunk_is_not_read_and_the_connection_closes(
    emulator_server: EmulatorHandle,
) -> None:
    """Beyond the bound (the largest chunk TikTok allows plus a margin) the host answers at once."""
    h = emulator_server
    url = _upload_url_for(h, REFUSALS["416 out of order"])
    huge = h.control("config", method="GET")["max_final_chunk_bytes"] + 2 * MIB
    headers = {**_chunk_headers(REFUSALS["416 out of order"]), "Content-Length": str(huge)}
    answer = _raw_put_head(url, headers)  # the body never comes; the answer does
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"\r\nconnection: close\r\n" in answer.lower()
    assert answer.endswith(b"Content-Length must equal the size of the Content-Range.")


def test_an_injected_upload_error_is_read_to_the_end_before_it_is_answered(
    emulator_server: EmulatorHandle, tmp_path: Path
) -> None:
    """A fault injected on the upload host (`{"endpoint": "upload", "status": 503}`) answers the
    chunk as the host's own refusals do: after reading its body, so urllib reads the 503."""
    h = emulator_server
    first = Refusal(503, "", first=0)
    url = _upload_url_for(h, first)
    h.control("faults", {"endpoint": "upload", "status": 503})
    answer = put_with_urllib(url, first, b"z" * CHUNK, tmp_path)
    assert answer.status == 503
