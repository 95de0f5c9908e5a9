"""deploy/emulator.Dockerfile: the emulator alone, slim, non-root, with a health check.

Docker is not available everywhere the tests run, so the file is checked by reading it: its
shape, its pins (pyproject.toml's), no extras and none of the app's own dependencies, and that
what it installs covers every distribution a real emulator process imports while it serves a
whole post (consent page, tokens, upload, processing, webhooks, inspector, a YAML seed, a state
folder, TLS files). Where a Docker daemon answers, the image is built and run once too.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import re
import shutil
import subprocess
import sys
import textwrap
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.fixtures.media_files import make_video
from tests.fixtures.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "emulator.Dockerfile"
#: Dependencies of the web app, the worker and the scaled-out size: not for the emulator.
#: (pydantic is not here: typer, which the command line needs, requires it.)
APP_ONLY = {
    "fastapi",
    "pydantic-settings",
    "sqlalchemy",
    "alembic",
    "itsdangerous",
    "prometheus-client",
    "platformdirs",
    "psycopg",
    "redis",
    "boto3",
}


def installed_requirements() -> list[Requirement]:
    """The requirement lines the image installs (the `printf` list of the build stage)."""
    text = DOCKERFILE.read_text()
    block = text.split("RUN printf '%s\\n'", 1)[1].split("> /src/emulator-requirements.txt", 1)[0]
    return [Requirement(line) for line in re.findall(r'"([^"]+)"', block)]


def test_the_image_is_slim_non_root_on_9100_with_a_healthcheck_and_host_0_0_0_0() -> None:
    text = DOCKERFILE.read_text()
    lines = text.splitlines()
    assert [line.split()[1] for line in lines if line.startswith("FROM ")] == [
        "python:3.11-slim",
        "python:3.11-slim",
    ]
    user = next(line.split()[1] for line in lines if line.startswith("USER "))
    assert user not in ("root", "0")
    assert "EXPOSE 9100" in lines
    health = text.split("HEALTHCHECK", 1)[1].split("\n  CMD ", 1)[1].splitlines()[0]
    assert "http://127.0.0.1:9100/_emulator/health" in health
    entrypoint = json.loads(next(line for line in lines if line.startswith("ENTRYPOINT "))[11:])
    assert entrypoint[:2] == ["directpost", "emulator"]
    assert entrypoint[entrypoint.index("--host") + 1] == "0.0.0.0"
    assert entrypoint[entrypoint.index("--port") + 1] == "9100"
    # The project goes in without its dependencies; no extras anywhere.
    assert "pip install --no-index --find-links /wheels --no-deps directpost" in text
    assert "[scale]" not in text and ".[" not in text


def test_it_installs_pyprojects_pins_and_none_of_the_apps_own_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {
        canonicalize_name(r.name): r.specifier for r in map(Requirement, project["dependencies"])
    }
    listed = installed_requirements()
    assert len({canonicalize_name(r.name) for r in listed}) == len(listed)
    for requirement in listed:
        name = canonicalize_name(requirement.name)
        assert not requirement.extras, requirement
        assert name not in APP_ONLY, requirement
        if name in pins:
            assert requirement.specifier == pins[name], (requirement, pins[name])
    assert not APP_ONLY & closure(listed)


def closure(requirements: list[Requirement]) -> set[str]:
    """The distributions that installing ``requirements`` brings in (from installed metadata)."""
    seen: set[str] = set()
    todo = [canonicalize_name(r.name) for r in requirements]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return seen


#: Run in a fresh interpreter: serve a whole post and everything around it, print sys.modules.
PROBE = textwrap.dedent(
    """
    import http.server, json, sys, tempfile, threading, time, urllib.request
    from pathlib import Path

    import directpost.cli
    from directpost.emulator.config import EmulatorConfig
    from directpost.emulator.launch import build
    from directpost.emulator.server import run_server_in_thread
    from directpost.emulator.tls import ensure_tls_files

    video = Path(sys.argv[1])
    work = Path(tempfile.mkdtemp())
    got = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            got.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    receiver = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    (work / "seed.yaml").write_text("demo_world: true\\ncreators:\\n  - open_id: probe\\n")
    built = build(EmulatorConfig(), seed=work / "seed.yaml", state_dir=work / "state")

    def call(base, method, path, body=None, headers=None, form=False):
        data = None
        headers = dict(headers or {})
        if isinstance(body, bytes):
            data = body
        elif form:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
        class Keep(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args):
                return None
        try:
            with urllib.request.build_opener(Keep).open(request) as answer:
                return answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as answer:
            return answer.code, answer.headers, answer.read()

    import urllib.parse, urllib.error
    with run_server_in_thread(app=built.app) as running:
        base = running.base_url
        call(base, "POST", "/_emulator/apps", {
            "client_key": "probeclientkey01", "client_secret": "probe-secret", "audited": True,
            "redirect_uris": ["http://127.0.0.1:9/cb"],
            "webhook_url": f"http://127.0.0.1:{receiver.server_address[1]}/hook",
        })
        call(base, "GET", "/v2/auth/authorize/?client_key=probeclientkey01&scope=video.publish"
             "&redirect_uri=http://127.0.0.1:9/cb&state=s&response_type=code")
        status, headers, _ = call(base, "POST", "/v2/auth/authorize/", {
            "client_key": "probeclientkey01", "scope": "video.publish",
            "redirect_uri": "http://127.0.0.1:9/cb", "state": "s", "response_type": "code",
            "open_id": "demo-public", "decision": "allow", "scope:video.publish": "on",
        }, form=True)
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(headers["Location"]).query)["code"][0]
        _, _, token = call(base, "POST", "/v2/oauth/token/", {
            "client_key": "probeclientkey01", "client_secret": "probe-secret", "code": code,
            "grant_type": "authorization_code", "redirect_uri": "http://127.0.0.1:9/cb",
        }, form=True)
        bearer = {"Authorization": "Bearer " + json.loads(token)["access_token"]}
        call(base, "POST", "/v2/post/publish/creator_info/query/", None, bearer)
        size = video.stat().st_size
        _, _, init = call(base, "POST", "/v2/post/publish/video/init/", {
            "post_info": {"privacy_level": "PUBLIC_TO_EVERYONE", "title": "probe"},
            "source_info": {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": size,
                            "total_chunk_count": 1},
        }, bearer)
        data = json.loads(init)["data"]
        upload = urllib.parse.urlsplit(data["upload_url"])
        put = call(base, "PUT", upload.path + "?" + upload.query, video.read_bytes(),
                   {"Content-Type": "video/mp4", "Content-Range": f"bytes 0-{size - 1}/{size}"})
        assert put[0] == 201, put
        call(base, "POST", "/v2/post/publish/status/fetch/", {"publish_id": data["publish_id"]},
             bearer)
        deadline = time.monotonic() + 20
        while not got and time.monotonic() < deadline:
            time.sleep(0.02)
        assert got, "no webhook arrived"
        for page in ("/_emulator/", "/_emulator/creators/demo-public",
                     "/_emulator/avatars/demo-public.png",
                     f"/_emulator/media/{data['publish_id']}/0", "/_emulator/state"):
            assert call(base, "GET", page)[0] == 200, page
    ensure_tls_files(work / "tls")
    print(json.dumps(sorted(sys.modules)))
    """
)


def _distributions(modules: list[str]) -> set[str]:
    by_module = metadata.packages_distributions()
    return {
        canonicalize_name(dist)
        for module in modules
        for dist in by_module.get(module.split(".")[0], [])
    }


def test_what_it_installs_covers_everything_a_running_emulator_imports(tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mp4", seconds=1)
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(video)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    baseline = subprocess.run(
        [sys.executable, "-c", "import json, sys; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    used = _distributions(json.loads(probe.stdout.splitlines()[-1]))
    used -= _distributions(json.loads(baseline.stdout))  # what the interpreter loads at start
    used.discard("directpost")
    missing = sorted(used - closure(installed_requirements()))
    assert missing == [], "add these to deploy/emulator.Dockerfile's list"


def _docker_answers() -> str | None:
    """None when a Docker daemon answers, else why not."""
    if shutil.which("docker") is None:
        return "docker is not installed"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    return None if info.returncode == 0 else "the Docker daemon does not answer (docker info)"


@pytest.mark.slow
def test_the_image_builds_runs_and_answers_its_healthcheck() -> None:
    reason = _docker_answers()
    if reason is not None:
        pytest.skip(f"{reason}: the image is checked by reading it only")
    tag = "directpost-emulator:test"
    subprocess.run(
        ["docker", "build", "-q", "-f", str(DOCKERFILE), "-t", tag, str(ROOT)], check=True
    )
    port = free_port()
    container = subprocess.run(
        ["docker", "run", "-d", "--rm", "-p", f"127.0.0.1:{port}:9100", tag],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/health") as ok:
                    assert json.load(ok) == {"ok": True, "mode": "emulate"}
                    break
            except OSError:
                assert time.monotonic() < deadline, "the container never answered"
                time.sleep(0.5)
        uid = subprocess.run(
            ["docker", "exec", container, "id", "-u"], capture_output=True, text=True, check=True
        )
        assert uid.stdout.strip() == "10001"
    finally:
        subprocess.run(["docker", "stop", container], capture_output=True, check=False)
