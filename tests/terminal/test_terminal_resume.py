"""An upload cut mid-chunk goes on without a second init: the library resumes a dropped
connection by itself, and `directpost post --resume` continues after Ctrl-C (no duplicate post)."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.terminal.conftest import Terminal

MIB = 1024 * 1024


def padded_video(source: Path, target: Path, size: int) -> Path:
    """A playable MP4 made `size` bytes long with zeros after its last box (sparse on disk)."""
    target.write_bytes(source.read_bytes())
    with target.open("r+b") as handle:
        handle.truncate(size)
    return target


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(4 * MIB):
            digest.update(block)
    return digest.hexdigest()


def test_a_connection_cut_mid_chunk_is_resumed_without_a_second_init(
    terminal: Terminal, video_mp4: Path, tmp_path: Path
) -> None:
    big = padded_video(video_mp4, tmp_path / "big.mp4", 70 * MIB)  # 4 chunks of 16 MiB+
    terminal.sign_in("demo-public")
    # The first chunk goes through; the second is cut after 3 MiB of its body.
    terminal.emulator.control("faults", {"endpoint": "upload", "delay_s": 0.001})
    terminal.emulator.control(
        "faults", {"endpoint": "upload", "drop": True, "drop_after_bytes": 3 * MIB}
    )
    result = terminal.run("post", str(big), "--privacy", "Everyone", "--yes", "--json")
    assert result.exit_code == 0, result.output
    assert terminal.inits() == ["/v2/post/publish/video/init/"]
    publish = terminal.emulator.state()["publishes"][0]
    assert publish["status"] == "PUBLISH_COMPLETE"
    assert publish["sha256"] == sha256(big)


def test_ctrl_c_mid_upload_then_resume_continues_without_a_duplicate_post(
    terminal: Terminal, video_mp4: Path, tmp_path: Path
) -> None:
    big = padded_video(video_mp4, tmp_path / "big.mp4", 70 * MIB)
    terminal.sign_in("demo-public")
    # The second chunk is held by the host long enough for a Ctrl-C in the middle of it.
    terminal.emulator.control("faults", {"endpoint": "upload", "delay_s": 0.001})
    terminal.emulator.control("faults", {"endpoint": "upload", "delay_s": 30})
    process = subprocess.Popen(
        terminal.command("post", str(big), "--privacy", "Everyone", "--yes"),
        env=terminal.subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if "16.0 of 70.0 MiB" in line:  # the first chunk is in: the second is on its way
            break
    else:
        pytest.fail(
            "no progress line: " + "".join(seen) + (process.stdout.read() if process.stdout else "")
        )
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 3, out + err
    assert "directpost post --resume" in err
    publish_id = terminal.emulator.state()["publishes"][0]["publish_id"]

    # A new post of any file is refused while this one is unfinished (no second init).
    again = terminal.run("post", str(big), "--privacy", "Everyone", "--yes", "--json")
    assert again.exit_code == 1 and json.loads(again.stdout)["publish_id"] == publish_id
    status = json.loads(terminal.run("status", publish_id, "--json").stdout)
    assert status["resumable"] is True and status["status"] == "PROCESSING_UPLOAD"

    terminal.emulator.control("faults", method="DELETE")
    resumed = terminal.run("post", "--resume", "--json")
    assert resumed.exit_code == 0, resumed.output
    body = json.loads(resumed.stdout)
    assert (body["publish_id"], body["status"]) == (publish_id, "PUBLISH_COMPLETE")
    assert terminal.inits() == ["/v2/post/publish/video/init/"]
    publish = terminal.emulator.state()["publishes"][0]
    assert publish["sha256"] == sha256(big)
    assert terminal.run("post", "--resume").exit_code == 1  # nothing left to resume


def test_a_changed_file_is_not_resumed(terminal: Terminal, video_mp4: Path, tmp_path: Path) -> None:
    big = padded_video(video_mp4, tmp_path / "big.mp4", 70 * MIB)
    terminal.sign_in("demo-public")
    terminal.emulator.control("faults", {"endpoint": "upload", "status": 404, "count": 1})
    first = terminal.run("post", str(big), "--privacy", "Everyone", "--yes", "--json")
    assert first.exit_code == 3, first.output
    with big.open("r+b") as handle:
        handle.seek(10)
        handle.write(b"edited")
    resumed = terminal.run("post", "--resume", "--json")
    assert resumed.exit_code == 1
    assert "changed" in json.loads(resumed.stdout)["message"]
    dropped = terminal.run("cancel", json.loads(first.stdout)["publish_id"], "--json")
    assert dropped.exit_code == 0, dropped.output
    assert terminal.run("post", "--resume").exit_code == 1
    assert terminal.inits() == ["/v2/post/publish/video/init/"]


@pytest.mark.slow
def test_a_300_mib_video_is_posted_with_the_progress_bar(
    terminal: Terminal, video_mp4: Path, tmp_path: Path
) -> None:
    big = padded_video(video_mp4, tmp_path / "big.mp4", 300 * MIB)
    terminal.sign_in("demo-public")
    result = terminal.run("post", str(big), "--privacy", "Everyone", "--yes")
    assert result.exit_code == 0, result.output
    lines = [x for x in result.stderr.splitlines() if x.startswith("Uploading big.mp4:")]
    assert len(lines) == 18  # one line per accepted chunk: 300 MiB in 16 MiB chunks
    assert lines[-1].startswith("Uploading big.mp4: 300.0 of 300.0 MiB (100%)")
    assert terminal.inits() == ["/v2/post/publish/video/init/"]
    assert terminal.emulator.state()["publishes"][0]["sha256"] == sha256(big)
