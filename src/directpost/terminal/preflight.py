"""The media pre-flight (TECH-3, UX-1c) in a short child process, so `directpost post` stays small.

Probing needs PyAV (ffmpeg's libraries) and Pillow, which alone take some 20 MB of memory once
loaded, and a decoded picture more on top; the posting process then streams the upload for
minutes and must stay within 64 MB (issue 16). So the checks run in `python -m
directpost.terminal.preflight`, which reads the request as JSON on stdin, runs the very same
`media.checks` calls as the app, prints its findings as JSON and exits: the posting process
never imports `av`. A child that cannot answer is a refusal, never a pass: nothing is sent
unchecked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: A probe reads headers and decodes one picture; a minute means something is wrong.
TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Finding:
    """One problem the checks found (`media.checks.MediaProblem`, as JSON carries it)."""

    code: str
    message: str
    file: str


@dataclass(frozen=True)
class Inspection:
    """What the child found: whether the video could be read, its duration, the problems."""

    readable: bool
    duration_s: float | None
    problems: tuple[Finding, ...]


class PreflightError(Exception):
    """The checks could not run; the message says why (the files were not sent)."""


def inspect(kind: str, files: Sequence[Path], *, max_duration_s: int | None) -> Inspection:
    """Run the media checks on `files` in a child process and read back what they found."""
    request = {
        "kind": kind,
        "files": [str(f) for f in files],
        "max_duration_s": max_duration_s,
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "directpost.terminal.preflight"],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PreflightError(f"the media check could not run ({exc})") from exc
    try:
        answer: dict[str, Any] = json.loads(done.stdout)
        return Inspection(
            readable=bool(answer["readable"]),
            duration_s=answer["duration_s"],
            problems=tuple(Finding(**p) for p in answer["problems"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise PreflightError(
            f"the media check stopped without an answer (exit {done.returncode}: {last})"
        ) from exc


def _check(kind: str, files: list[str], max_duration_s: int | None) -> dict[str, Any]:
    """The child's work: the app's own checks (imported here, so only the child loads PyAV)."""
    from directpost.media.checks import check_photo_set, inspect_photo, inspect_video

    problems: list[dict[str, str]] = []
    if kind == "video":
        path = Path(files[0])
        probe, found = inspect_video(path, max_duration_s=max_duration_s, name=path.name)
        problems += [{"code": p.code, "message": p.message, "file": path.name} for p in found]
        duration = probe.duration_s if probe is not None else None
        return {"readable": probe is not None, "duration_s": duration, "problems": problems}
    problems += [
        {"code": p.code, "message": p.message, "file": ""} for p in check_photo_set(len(files))
    ]
    for name in files:
        path = Path(name)
        _, found = inspect_photo(path, name=path.name)
        problems += [{"code": p.code, "message": p.message, "file": path.name} for p in found]
    return {"readable": True, "duration_s": None, "problems": problems}


def main() -> None:
    request = json.loads(sys.stdin.read())
    answer = _check(request["kind"], list(request["files"]), request["max_duration_s"])
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    main()
