"""HTTPS for the emulator (``directpost emulator --tls``, ``run_server_in_thread(tls=True)``).

The emulator makes a local CA and a server certificate for the loopback names in
``<data_dir>/tls/``. A client that trusts that CA file and nothing else completes a whole post
over https (the upload_url and links it hands out are https too); one that does not trust it is
refused with a certificate error, never served.
"""

from __future__ import annotations

import hashlib
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from typer.testing import CliRunner

from directpost.cli import app as cli_app
from directpost.emulator import DEMO_CLIENT_KEY, DEMO_CLIENT_SECRET, EmulatorConfig
from directpost.emulator.demo import DEMO_REDIRECT_URIS
from directpost.emulator.server import RunningEmulator, run_server_in_thread
from directpost.emulator.tls import ensure_tls_files, tls_folder
from tests.fixtures.media_files import make_video


@pytest.fixture(scope="module")
def https_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    data_dir = tmp_path_factory.mktemp("tls-emulator")
    with run_server_in_thread(config=EmulatorConfig(data_dir=data_dir), tls=True) as running:
        yield running


def _trusting_only(ca_file: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_file))
    # Only this CA: whatever the system trusts is irrelevant to the test.
    assert context.get_ca_certs() and len(context.get_ca_certs()) == 1
    return context


def test_a_client_trusting_only_the_emulator_ca_completes_a_post_over_https(
    https_emulator: RunningEmulator, tmp_path: Path
) -> None:
    running = https_emulator
    assert running.base_url.startswith("https://127.0.0.1:")
    assert running.ca_file == tls_folder(running.app.state.runtime.backend.data_dir) / "ca.pem"  # type: ignore[attr-defined]
    clip = make_video(tmp_path / "clip.mp4")
    with httpx2.Client(
        base_url=running.base_url, verify=_trusting_only(running.ca_file), trust_env=False
    ) as client:
        consent = client.post(
            "/v2/auth/authorize/",
            data={
                "client_key": DEMO_CLIENT_KEY,
                "scope": "user.info.basic,video.publish",
                "redirect_uri": DEMO_REDIRECT_URIS[0],
                "state": "s",
                "response_type": "code",
                "open_id": "demo-public",
                "decision": "allow",
                "scope:user.info.basic": "on",
                "scope:video.publish": "on",
            },
        )
        assert consent.status_code == 302, consent.text
        code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
        token = client.post(
            "/v2/oauth/token/",
            data={
                "client_key": DEMO_CLIENT_KEY,
                "client_secret": DEMO_CLIENT_SECRET,
                "code": code,
                "grant_type": "authorization_code",
                "redirect_uri": DEMO_REDIRECT_URIS[0],
            },
        ).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        info = client.post("/v2/post/publish/creator_info/query/", headers=bearer).json()
        assert info["data"]["creator_avatar_url"].startswith(running.base_url + "/_emulator/")
        size = clip.stat().st_size
        init = client.post(
            "/v2/post/publish/video/init/",
            headers=bearer,
            json={
                "post_info": {"privacy_level": "SELF_ONLY", "title": "over https"},
                "source_info": {
                    "source": "FILE_UPLOAD",
                    "video_size": size,
                    "chunk_size": size,
                    "total_chunk_count": 1,
                },
            },
        ).json()["data"]
        assert init["upload_url"].startswith(running.base_url + "/upload/video/")
        put = client.put(
            init["upload_url"],
            content=clip.read_bytes(),
            headers={"Content-Type": "video/mp4", "Content-Range": f"bytes 0-{size - 1}/{size}"},
        )
        assert put.status_code == 201
        status = client.post(
            "/v2/post/publish/status/fetch/",
            headers=bearer,
            json={"publish_id": init["publish_id"]},
        ).json()["data"]
        assert status["status"] in ("PROCESSING_UPLOAD", "PUBLISH_COMPLETE")
        profile = client.get("/_emulator/creators/demo-public")
        assert profile.status_code == 200


def test_urllib_trusting_the_ca_file_is_served_and_an_untrusting_one_is_refused(
    https_emulator: RunningEmulator,
) -> None:
    running = https_emulator
    assert running.ca_file is not None
    request = urllib.request.Request(
        running.base_url + "/_emulator/tokens",
        data=json.dumps({"open_id": "demo-public"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, context=_trusting_only(running.ca_file)) as answer:
        assert json.loads(answer.read())["open_id"] == "demo-public"
    with pytest.raises(urllib.error.URLError) as refused:
        urllib.request.urlopen(request, context=ssl.create_default_context(cafile=None))
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)


def test_httpx2_without_the_ca_gets_a_certificate_error(https_emulator: RunningEmulator) -> None:
    client = httpx2.Client(base_url=https_emulator.base_url, trust_env=False)
    with client, pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        client.get("/_emulator/")


def test_the_ca_is_kept_across_restarts_and_the_server_certificate_covers_the_host(
    tmp_path: Path,
) -> None:
    first = ensure_tls_files(tmp_path)
    ca_pem, server_pem = first.ca_cert.read_bytes(), first.server_cert.read_bytes()
    assert ensure_tls_files(tmp_path).ca_cert.read_bytes() == ca_pem  # a restart: same files
    assert first.server_cert.read_bytes() == server_pem
    assert first.ca_key.stat().st_mode & 0o077 == 0  # the keys are the owner's only
    assert first.server_key.stat().st_mode & 0o077 == 0
    other = ensure_tls_files(tmp_path, host="192.0.2.7")  # a new host: a new server cert, same CA
    assert other.ca_cert.read_bytes() == ca_pem
    assert other.server_cert.read_bytes() != server_pem
    context = ssl.create_default_context(cafile=str(other.ca_cert))
    assert context.get_ca_certs()[0]["subject"] == (
        (("organizationName", "directpost"),),
        (("commonName", "directpost TikTok emulator local CA"),),
    )


def test_the_emulator_command_offers_tls() -> None:
    shown = CliRunner().invoke(cli_app, ["emulator", "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0
    assert "--tls" in shown.output and "ca.pem" in shown.output


def test_a_chunked_upload_over_https_keeps_every_byte(https_emulator: RunningEmulator) -> None:
    """The upload host's body-to-file path reads through TLS too (asyncio's SSL transport)."""
    running = https_emulator
    assert running.ca_file is not None
    chunk, size = 6 * 1024 * 1024, 13 * 1024 * 1024 + 5
    data = bytes(range(256)) * (size // 256) + b"\7" * (size % 256)
    with httpx2.Client(
        base_url=running.base_url, verify=_trusting_only(running.ca_file), trust_env=False
    ) as client:
        token = client.post("/_emulator/tokens", json={"open_id": "demo-public"}).json()
        init = client.post(
            "/v2/post/publish/video/init/",
            headers={"Authorization": f"Bearer {token['access_token']}"},
            json={
                "post_info": {"privacy_level": "SELF_ONLY"},
                "source_info": {
                    "source": "FILE_UPLOAD",
                    "video_size": size,
                    "chunk_size": chunk,
                    "total_chunk_count": 2,
                },
            },
        ).json()["data"]
        answers = [
            client.put(
                init["upload_url"],
                content=data[first : last + 1],
                headers={
                    "Content-Type": "video/mp4",
                    "Content-Range": f"bytes {first}-{last}/{size}",
                },
            ).status_code
            for first, last in ((0, chunk - 1), (chunk, size - 1))
        ]
        assert answers == [206, 201]
        publishes = client.get("/_emulator/state").json()["publishes"]
    received = next(p for p in publishes if p["publish_id"] == init["publish_id"])
    assert received["sha256"] == hashlib.sha256(data).hexdigest()
