"""`directpost post` against the emulator as a real server: a video with its progress, the JSON
result, an inbox draft, photos, status and cancel (the rules' refusals: test_terminal_rules.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from directpost.rules import texts
from tests.fixtures.media_files import make_photo
from tests.terminal.conftest import Terminal


def test_a_video_is_published_with_progress_and_the_processing_notice_UX_5d(
    terminal: Terminal, video_mp4: Path
) -> None:
    terminal.sign_in("demo-public")
    result = terminal.run(
        "post", str(video_mp4), "--title", "a #cat video", "--privacy", "Everyone", "--yes"
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Posting to Pia Public (@pia.public)" in out  # UX-1a
    assert texts.declaration(branded_content=False).text in out  # UX-2d
    assert texts.PROCESSING_NOTICE in out  # UX-5d
    assert "Published" in out
    assert f"Uploading {video_mp4.name}:" in result.stderr and "(100%)" in result.stderr
    assert len(terminal.inits()) == 1
    publish = terminal.emulator.state()["publishes"][0]
    assert publish["status"] == "PUBLISH_COMPLETE"
    info = publish["request"]["post_info"]
    assert info["title"] == "a #cat video"
    # Interactions stay off unless asked (UX-2c); the bytes are the file's own (UX-5b).
    assert (info["disable_comment"], info["disable_duet"], info["disable_stitch"]) == (
        True,
        True,
        True,
    )
    assert publish["sha256"] == hashlib.sha256(video_mp4.read_bytes()).hexdigest()


def test_json_prints_one_object_on_stdout_and_the_declaration_on_stderr(
    terminal: Terminal, video_mp4: Path
) -> None:
    terminal.sign_in("demo-public")
    result = terminal.run(
        "post", str(video_mp4), "--privacy", "Only me", "--allow-comment", "--yes", "--json"
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)  # exactly one JSON object, nothing else
    assert body["ok"] is True and body["outcome"] == "published" and body["exit_code"] == 0
    assert body["status"] == "PUBLISH_COMPLETE"
    assert body["publish_id"] == terminal.emulator.state()["publishes"][0]["publish_id"]
    assert texts.declaration(branded_content=False).text in result.stderr
    assert "Uploading" not in result.stderr  # no progress with --json


def test_json_reports_a_refusal_with_its_rule(terminal: Terminal, video_mp4: Path) -> None:
    terminal.sign_in("demo-public")
    result = terminal.run("post", str(video_mp4), "--disclose", "--privacy", "Everyone", "--json")
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["outcome"] == "refused" and body["ok"] is False
    assert [v["rule"] for v in body["violations"]] == ["UX-3b"]
    assert body["violations"][0]["message"] == texts.DISCLOSURE_NEEDS_CHOICE


def test_draft_goes_to_the_inbox_without_privacy(terminal: Terminal, video_mp4: Path) -> None:
    terminal.sign_in("demo-public")
    result = terminal.run("post", str(video_mp4), "--draft", "--yes", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert (body["outcome"], body["status"]) == ("inbox", "SEND_TO_USER_INBOX")
    assert terminal.inits() == ["/v2/post/publish/inbox/video/init/"]
    assert texts.INBOX_NOTE in result.stderr


def test_photos_are_posted_from_this_machine_byte_for_byte(
    terminal: Terminal, tmp_path: Path
) -> None:
    terminal.sign_in("demo-public")
    photos = [make_photo(tmp_path / f"p{i}.jpg", color=(40 * i, 90, 200)) for i in range(3)]
    result = terminal.run(
        "post",
        *map(str, photos),
        "--title",
        "three",
        "--privacy",
        "Everyone",
        "--cover",
        "1",
        "--yes",
        "--json",
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["status"] == "PUBLISH_COMPLETE"
    assert terminal.inits() == ["/v2/post/publish/content/init/"]
    publish = terminal.emulator.state()["publishes"][0]
    assert publish["request"]["source_info"]["photo_cover_index"] == 1
    assert publish["downloaded_bytes"] == sum(p.stat().st_size for p in photos)
    assert "Photo" not in result.stdout  # --json: words on stderr only
    assert "Photos: p0.jpg, p1.jpg, p2.jpg" in result.stderr


def test_status_and_cancel_of_a_post(terminal: Terminal, video_mp4: Path) -> None:
    terminal.sign_in("demo-public")
    posted = json.loads(
        terminal.run("post", str(video_mp4), "--privacy", "Everyone", "--yes", "--json").stdout
    )
    publish_id = posted["publish_id"]
    status = terminal.run("status", publish_id, "--json")
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["status"] == "PUBLISH_COMPLETE"
    human = terminal.run("status", publish_id)
    assert f"{publish_id}: published" in human.stdout
    # A finished post cannot be cancelled: TikTok's answer, with its log_id (exit 2).
    cancel = terminal.run("cancel", publish_id, "--json")
    assert cancel.exit_code == 2
    assert json.loads(cancel.stdout)["error"]["log_id"]
    unknown = terminal.run("status", "v_pub_file~nothing", "--json")
    assert unknown.exit_code == 2
    assert json.loads(unknown.stdout)["error"]["code"]


def test_post_without_sign_in_says_how_to_sign_in(terminal: Terminal, video_mp4: Path) -> None:
    result = terminal.run("post", str(video_mp4), "--privacy", "Everyone", "--yes")
    assert result.exit_code == 1
    assert "directpost login" in result.stderr
    assert terminal.requests() == []
