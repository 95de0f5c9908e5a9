"""`directpost emulator --seed FILE` and `--state-dir DIR` (docs/emulator.md, "Seed file" and
"Keep state across restarts").

The seed tests load docs/emulator-seed.example.json and broken copies of it; the state tests run
real emulator processes, stopped with SIGTERM (a clean save) and SIGKILL (only what the last
debounced save wrote survives).
"""

from __future__ import annotations

import copy
import hashlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest

from directpost.emulator.backend import Backend
from directpost.emulator.config import EmulatorConfig
from directpost.emulator.launch import StartupError, build
from directpost.emulator.persist import STATE_FILE, restore, snapshot
from directpost.emulator.seed import SeedError, load_seed
from directpost.emulator.server import run_server_in_thread
from tests.fixtures.emulator import WebhookSink, fixture_config
from tests.fixtures.media_files import make_video
from tests.fixtures.processes import free_port, wait_until_answers

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "emulator-seed.example.json"


def example() -> dict[str, Any]:
    return dict(json.loads(EXAMPLE.read_text()))


# ---------------------------------------------------------------------- seed


def test_the_example_seed_file_seeds_its_world_and_a_reset_brings_it_back(tmp_path: Path) -> None:
    built = build(fixture_config(tmp_path / "data"), seed=EXAMPLE)
    with (
        run_server_in_thread(app=built.app) as running,
        httpx2.Client(base_url=running.base_url, trust_env=False) as client,
    ):
        for attempt in ("at start", "after a reset"):
            state = client.get("/_emulator/state").json()
            apps = {a["client_key"]: a for a in state["apps"]}
            team = apps["myteamclientkey1"]
            assert (team["audited"], team["webhook_url"], team["progression"]) == (
                False,
                "http://127.0.0.1:3000/webhooks/tiktok",
                {"mode": "polls", "value": 2.0},
            ), attempt
            assert team["verified_url_prefixes"] == ["http://127.0.0.1:3000/media/"]
            assert "dpdemoclientkey0" in apps  # demo_world: true keeps the demo world
            creators = {c["open_id"]: c for c in state["creators"]}
            assert creators["team-private"]["private_account"] is True
            assert creators["team-private"]["comment_disabled"] is True
            assert creators["team-private"]["max_video_post_duration_sec"] == 180
            assert creators["team-no-duet"]["app_version"] == "30.2"
            assert state["config"]["progression"] == {"mode": "polls", "value": 1.0}
            # Changed at run time, then reset: the seed's values come back.
            client.post("/_emulator/creators", json={"open_id": "team-private", "nickname": "X"})
            client.post("/_emulator/config", json={"progression": {"mode": "immediate"}})
            assert client.post("/_emulator/reset").status_code == 200


def test_a_seed_without_the_demo_world_has_only_its_own_apps_and_creators(tmp_path: Path) -> None:
    seed = {**example(), "demo_world": False}
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    backend = build(fixture_config(tmp_path / "data"), seed=path).app.state.runtime.backend
    assert list(backend.apps) == ["myteamclientkey1"]
    assert sorted(backend.creators) == ["team-no-duet", "team-private"]


def _broken(change: str) -> dict[str, Any]:
    seed = copy.deepcopy(example())
    app, creator = seed["apps"][0], seed["creators"][0]
    if change == "webhook":
        app["webhook_url"] = "http://tiktok-webhooks.example.com/hook"
    elif change == "typo":
        app["webhok_url"] = app.pop("webhook_url")
    elif change == "type":
        creator["private_account"] = "yes"
    elif change == "posting_state":
        seed["creators"][1]["posting_state"] = "sleepy"
    elif change == "config":
        seed["config"]["posting_cap_per_day"] = "many"
    elif change == "prefix":
        app["verified_url_prefixes"] = ["http://127.0.0.1:3000/media"]
    elif change == "missing":
        del creator["open_id"]
    elif change == "top":
        seed["apps_"] = seed.pop("apps")
    return seed


@pytest.mark.parametrize(
    ("change", "where", "line_holds"),
    [
        ("webhook", r"apps\[0\]\.webhook_url: webhook URL .* must use https", '"webhook_url"'),
        ("typo", r"apps\[0\]\.webhok_url: unknown key", '"webhok_url"'),
        ("type", r"creators\[0\]\.private_account: .*of type bool", '"private_account"'),
        ("posting_state", r"creators\[1\]\.posting_state: .* one of ok", '"posting_state"'),
        ("config", r"config\.posting_cap_per_day: .* must be a number", '"posting_cap_per_day"'),
        ("prefix", r"apps\[0\]\.verified_url_prefixes: .* must end with '/'", "verified_url"),
        ("missing", r"creators\[0\]: open_id is required", "{"),
        ("top", r"apps_: unknown key; known: demo_world, config, apps, creators", '"apps_"'),
    ],
)
def test_a_bad_seed_is_refused_naming_the_file_line_and_key(
    tmp_path: Path, change: str, where: str, line_holds: str
) -> None:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(_broken(change), indent=2))
    with pytest.raises(SeedError, match=r"seed\.json:\d+: " + where) as refused:
        load_seed(path, EmulatorConfig())
    line = int(str(refused.value).split(":")[1])
    assert line_holds in path.read_text().splitlines()[line - 1]


def test_a_bad_seed_stops_the_command_with_one_line_and_status_2(tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(_broken("webhook"), indent=2))
    ran = subprocess.run(
        [sys.executable, "-m", "directpost.cli", "emulator", "--port", "0", "--seed", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 2
    assert ran.stderr.count("\n") == 1 and "Traceback" not in ran.stderr
    assert ran.stderr.startswith(f"directpost emulator: {path}:")
    assert "apps[0].webhook_url" in ran.stderr


def test_a_yaml_seed_reads_like_the_json_one_and_names_lines_too(tmp_path: Path) -> None:
    yaml = pytest.importorskip("yaml")
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump(example(), sort_keys=False))
    from_yaml = load_seed(path, EmulatorConfig())
    from_json = load_seed(EXAMPLE, EmulatorConfig())
    assert (from_yaml.apps, from_yaml.creators, from_yaml.config) == (
        from_json.apps,
        from_json.creators,
        from_json.config,
    )
    path.write_text(yaml.safe_dump(_broken("type"), sort_keys=False))
    with pytest.raises(SeedError, match=r"seed\.yaml:\d+: creators\[0\]\.private_account") as bad:
        load_seed(path, EmulatorConfig())
    line = int(str(bad.value).split(":")[1])
    assert path.read_text().splitlines()[line - 1].strip().startswith("private_account:")


# ---------------------------------------------------------------------- state, in process


def _a_busy_world(base_url: str, video: Path, sink: WebhookSink) -> dict[str, Any]:
    """Tokens, a finished post with its webhook, a refused call, a fault, a moved clock."""
    with httpx2.Client(base_url=base_url, trust_env=False, timeout=30) as client:
        client.post(
            "/_emulator/apps",
            json={
                "client_key": "dpdemoclientkey0",
                "client_secret": "s3cret",
                "audited": True,
                "webhook_url": sink.url,
            },
        )
        token = client.post("/_emulator/tokens", json={"open_id": "demo-public"}).json()
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        client.post("/v2/post/publish/creator_info/query/", headers=bearer)
        publish_id = _post_whole(client, bearer, video)
        client.post("/_emulator/faults", json={"endpoint": "cancel", "error": "internal_error"})
        client.post("/_emulator/clock", json={"advance_s": 90})
        sink.wait(1)
        deadline = time.monotonic() + 10
        while not all(w["attempts"] for w in client.get("/_emulator/state").json()["webhooks"]):
            assert time.monotonic() < deadline, "a webhook attempt was never recorded"
            time.sleep(0.02)
        return {"token": token, "publish_id": publish_id}


def _post_whole(client: httpx2.Client, bearer: dict[str, str], video: Path) -> str:
    size = video.stat().st_size
    init = client.post(
        "/v2/post/publish/video/init/",
        headers=bearer,
        json={
            "post_info": {"privacy_level": "PUBLIC_TO_EVERYONE", "title": "kept #cat"},
            "source_info": {
                "source": "FILE_UPLOAD",
                "video_size": size,
                "chunk_size": size,
                "total_chunk_count": 1,
            },
        },
    ).json()["data"]
    put = client.put(
        init["upload_url"],
        content=video.read_bytes(),
        headers={"Content-Type": "video/mp4", "Content-Range": f"bytes 0-{size - 1}/{size}"},
    )
    assert put.status_code == 201, put.text
    return str(init["publish_id"])


def test_every_saved_field_and_shared_object_comes_back(
    tmp_path: Path, webhook_sink: WebhookSink
) -> None:
    video = make_video(tmp_path / "clip.mp4", seconds=1)
    with run_server_in_thread(config=fixture_config(tmp_path / "a")) as running:
        world = _a_busy_world(running.base_url, video, webhook_sink)
        backend: Backend = running.app.state.runtime.backend  # type: ignore[attr-defined]
        saved = json.loads(json.dumps(snapshot(backend)))
    again = Backend(fixture_config(tmp_path / "a"))
    try:
        assert restore(again, saved, tmp_path / STATE_FILE) == []
        restored = json.loads(json.dumps(snapshot(again)))
        for document in (saved, restored):
            document.pop("saved_at")
        assert restored == saved  # every field of every object, generically
        token = world["token"]
        assert again.tokens[token["access_token"]] is again.refresh_index[token["refresh_token"]]
        assert again.clock.offset == 90
        assert [p.publish_id for p in again.posts] == [world["publish_id"]]
        assert again.deliveries and again.deliveries[0].attempts
    finally:
        again.close()


def test_a_field_the_code_no_longer_has_is_dropped_and_a_new_one_gets_its_default(
    tmp_path: Path,
) -> None:
    backend = Backend(fixture_config(tmp_path / "a"))
    saved = json.loads(json.dumps(snapshot(backend)))
    backend.close()
    pia = saved["backend"]["creators"]["demo-public"]["fields"]
    pia["retired_setting"] = True
    del pia["avatar_color"]  # as if the field were added after the save
    again = Backend(fixture_config(tmp_path / "b"))
    try:
        warnings = restore(again, saved, tmp_path / STATE_FILE)
        assert warnings == ["saved field Creator.retired_setting no longer exists; dropped"]
        assert again.creators["demo-public"].avatar_color == "#25f4ee"
    finally:
        again.close()


def test_a_state_file_of_another_version_is_refused_and_nothing_is_moved(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    (state_dir / "media").mkdir(parents=True)
    (state_dir / "media" / "kept.mp4").write_bytes(b"bytes")
    (state_dir / STATE_FILE).write_text(
        json.dumps({"format": "directpost-emulator-state", "version": 99, "backend": {}})
    )
    with pytest.raises(StartupError, match="state format version 99, this emulator reads"):
        build(EmulatorConfig(), state_dir=state_dir)
    assert (state_dir / "media" / "kept.mp4").read_bytes() == b"bytes"
    (state_dir / STATE_FILE).write_text('{"format": ')
    with pytest.raises(StartupError, match=r"state\.json line 1: not valid JSON"):
        build(EmulatorConfig(), state_dir=state_dir)


# ---------------------------------------------------------------------- state, real processes


@contextmanager
def emulator_process(
    state_dir: Path, port: int, *extra: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`directpost emulator --state-dir` on ``port`` (the same one again after a restart: the
    upload URLs handed out before name it)."""
    log = state_dir.parent / f"emulator-{port}.log"
    command = [sys.executable, "-m", "directpost.cli", "emulator", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--state-dir", str(state_dir), *extra], stdout=out, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(f"{base_url}/_emulator/health", process=process, log=log)
        yield base_url, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def _stop(process: subprocess.Popen[bytes], how: signal.Signals) -> None:
    process.send_signal(how)
    process.wait(30)


def _check_the_post_survived(base_url: str, token: str, publish_id: str, video: Path) -> None:
    with httpx2.Client(base_url=base_url, trust_env=False, timeout=30) as client:
        info = client.post(
            "/v2/post/publish/creator_info/query/", headers={"Authorization": f"Bearer {token}"}
        )
        assert info.status_code == 200 and info.json()["error"]["code"] == "ok"
        posts = client.get("/_emulator/state").json()["posts"]["demo-public"]
        assert [p["publish_id"] for p in posts] == [publish_id]
        assert client.get(f"/_emulator/media/{publish_id}/0").content == video.read_bytes()
        assert "kept #cat" in client.get("/_emulator/creators/demo-public").text


@pytest.mark.slow  # two emulator processes, started one after the other
def test_state_survives_a_sigterm_restart_and_an_upload_resumes_where_it_was(
    tmp_path: Path,
) -> None:
    video = make_video(tmp_path / "clip.mp4", seconds=2)
    size = video.stat().st_size
    chunk = size // 2
    seed = tmp_path / "seed.json"  # small chunks, so a small file can go in two
    seed.write_text(json.dumps({"config": {"min_chunk_bytes": 1024}}))
    state_dir, port = tmp_path / "state", free_port()
    with emulator_process(state_dir, port, "--seed", str(seed)) as (base_url, process):
        with httpx2.Client(base_url=base_url, trust_env=False, timeout=30) as client:
            token = client.post("/_emulator/tokens", json={"open_id": "demo-public"}).json()
            bearer = {"Authorization": f"Bearer {token['access_token']}"}
            publish_id = _post_whole(client, bearer, video)
            client.post("/_emulator/clock", json={"advance_s": 120})
            init = client.post(
                "/v2/post/publish/video/init/",
                headers=bearer,
                json={
                    "post_info": {"privacy_level": "SELF_ONLY", "title": "half"},
                    "source_info": {
                        "source": "FILE_UPLOAD",
                        "video_size": size,
                        "chunk_size": chunk,
                        "total_chunk_count": 2,
                    },
                },
            ).json()["data"]
            first = client.put(
                init["upload_url"],
                content=video.read_bytes()[:chunk],
                headers={
                    "Content-Type": "video/mp4",
                    "Content-Range": f"bytes 0-{chunk - 1}/{size}",
                },
            )
            assert first.status_code == 206
        _stop(process, signal.SIGTERM)
    saved = json.loads((state_dir / STATE_FILE).read_text())
    assert saved["clock_offset"] == 120
    with emulator_process(state_dir, port, "--seed", str(seed)) as (base_url, _):
        _check_the_post_survived(base_url, token["access_token"], publish_id, video)
        with httpx2.Client(base_url=base_url, trust_env=False, timeout=30) as client:
            assert client.post("/_emulator/clock", json={"advance_s": 0}).json()["offset_s"] == 120
            second = client.put(
                init["upload_url"],
                content=video.read_bytes()[chunk:],
                headers={
                    "Content-Type": "video/mp4",
                    "Content-Range": f"bytes {chunk}-{size - 1}/{size}",
                },
            )
            assert second.status_code == 201, second.text
            deadline = time.monotonic() + 20
            while True:
                publishes = client.get("/_emulator/state").json()["publishes"]
                half = next(p for p in publishes if p["publish_id"] == init["publish_id"])
                if half["status"] == "PUBLISH_COMPLETE" or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert half["status"] == "PUBLISH_COMPLETE"
            assert half["sha256"] == hashlib.sha256(video.read_bytes()).hexdigest()


@pytest.mark.slow  # two emulator processes, started one after the other
def test_after_a_sigkill_what_the_last_save_wrote_is_there(tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mp4", seconds=1)
    state_dir, port = tmp_path / "state", free_port()
    with emulator_process(state_dir, port) as (base_url, process):
        with httpx2.Client(base_url=base_url, trust_env=False, timeout=30) as client:
            token = client.post("/_emulator/tokens", json={"open_id": "demo-public"}).json()
            bearer = {"Authorization": f"Bearer {token['access_token']}"}
            publish_id = _post_whole(client, bearer, video)
            # Wait for the debounced save (at most SAVE_INTERVAL_S after the post), then kill.
            deadline = time.monotonic() + 20
            while publish_id not in _read(state_dir / STATE_FILE):
                assert time.monotonic() < deadline, "the state was never saved"
                time.sleep(0.05)
        _stop(process, signal.SIGKILL)
    with emulator_process(state_dir, port) as (base_url, _):
        _check_the_post_survived(base_url, token["access_token"], publish_id, video)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""
