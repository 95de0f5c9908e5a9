"""What the terminal prints: words for a person, a progress bar, or one JSON object for a script.

With `--json`, stdout carries exactly one JSON object (the result) and everything a person
should read (the nickname, the declaration, notices) goes to stderr, so a script can parse
stdout while the declaration is still shown before `--yes` takes effect. The progress bar is a
rich bar on a terminal, a line per chunk when stderr is a file, and nothing with `--json`.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from . import EXIT_INTERRUPTED, EXIT_PUBLISHED, EXIT_REFUSED, EXIT_TIKTOK

MiB = 1024 * 1024


@dataclass
class Result:
    """The outcome of a command, printed last (as words, or as the one JSON object)."""

    outcome: str
    """published, inbox, refused, tiktok_error, interrupted, or the command's own word."""
    exit_code: int
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.exit_code == EXIT_PUBLISHED,
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "message": self.message,
            **self.data,
        }


class Stop(Exception):
    """End the command now with this result (a rule refused, TikTok said no, an interrupt)."""

    def __init__(self, result: Result) -> None:
        super().__init__(result.message)
        self.result = result


def refused(message: str, **data: Any) -> Stop:
    """Nothing was sent: a rule or a mistake in what was asked (exit 1)."""
    return Stop(Result("refused", EXIT_REFUSED, message, data))


def tiktok_failed(message: str, **data: Any) -> Stop:
    """TikTok answered with an error or could not be reached (exit 2)."""
    return Stop(Result("tiktok_error", EXIT_TIKTOK, message, data))


def interrupted(message: str, **data: Any) -> Stop:
    """Stopped before the end; the message says how to go on (exit 3)."""
    return Stop(Result("interrupted", EXIT_INTERRUPTED, message, data))


class Screen:
    """Where words go: stdout for a person, stderr when stdout is reserved for JSON."""

    def __init__(self, *, as_json: bool) -> None:
        self.as_json = as_json
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        self.out = self.err if as_json else Console(highlight=False, soft_wrap=True)

    def say(self, text: str = "", *, style: str | None = None) -> None:
        """A line for a person (never on stdout with --json)."""
        self.out.print(text, style=style, markup=False)

    def warn(self, text: str) -> None:
        """A line about a problem: always on stderr."""
        self.err.print(text, style="bold red" if self.err.is_terminal else None, markup=False)

    def finish(self, result: Result) -> int:
        """Print the result (its message, or the JSON object) and give the exit code."""
        if self.as_json:
            sys.stdout.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
        elif result.message:
            if result.exit_code == EXIT_PUBLISHED:
                self.say(result.message)
            else:
                self.warn(result.message)
        return result.exit_code

    @contextmanager
    def progress(self, label: str, total: int) -> Iterator[Any]:
        """A `progress(sent, total)` callback for the upload, drawn as fits the output."""
        if self.as_json:
            yield lambda sent, size: None
            return
        if self.err.is_terminal:
            bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(binary_units=True),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=self.err,
                transient=False,
            )
            with bar:
                task = bar.add_task(label, total=total)
                yield lambda sent, size: bar.update(task, completed=sent, total=size)
            return
        started = time.monotonic()

        def line(sent: int, size: int) -> None:
            # One plain line per accepted chunk: readable in a log, no control characters.
            elapsed = max(time.monotonic() - started, 1e-6)
            self.err.print(
                f"{label}: {sent / MiB:.1f} of {size / MiB:.1f} MiB "
                f"({100 * sent // max(size, 1)}%), {sent / MiB / elapsed:.1f} MiB/s",
                markup=False,
            )

        yield line
