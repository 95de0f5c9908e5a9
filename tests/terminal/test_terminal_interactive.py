"""On a terminal (a pseudo-terminal here), `directpost post` asks for privacy from exactly the
creator's options with no default (UX-2b), draws the progress bar, and waits for a typed y."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

from directpost.rules import texts
from tests.terminal.conftest import Terminal


class Pty:
    """A child process on a pseudo-terminal; read what it draws, type into it."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env={**env, "COLUMNS": "100"}
        )
        os.close(slave)
        self.screen = ""

    def __enter__(self) -> Pty:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def read_until(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.screen:
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; screen:\n{self.screen}")
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.screen += os.read(self.master, 65536).decode("utf-8", "replace")
                except OSError:  # the child closed the terminal
                    break
        return self.screen

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def finish(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.screen += os.read(self.master, 65536).decode("utf-8", "replace")
                except OSError:
                    break
        code = self.process.wait(5)
        os.close(self.master)
        return code


def test_privacy_is_asked_with_no_default_then_a_typed_y_posts_UX_2b_UX_5c(
    terminal: Terminal, video_mp4: Path
) -> None:
    terminal.sign_in("demo-private")  # a private account: no "Everyone"
    with Pty(
        terminal.command("post", str(video_mp4), "--title", "hi"), terminal.subprocess_env()
    ) as child:
        interact(terminal, child)
    publish = terminal.emulator.state()["publishes"][0]
    assert publish["request"]["post_info"]["privacy_level"] == "SELF_ONLY"


def interact(terminal: Terminal, child: Pty) -> None:
    screen = child.read_until("Type a number")
    assert "1) Followers" in screen and "2) Friends" in screen and "3) Only me" in screen
    assert "Everyone" not in screen  # exactly the creator's options
    child.type("\n")  # no default: an empty answer is asked again
    child.read_until("Type one of 1, 2, 3")
    child.type("3\n")
    screen = child.read_until("Type y to post")
    assert "Who can see it: Only me" in screen
    assert texts.declaration(branded_content=False).text in screen
    assert terminal.inits() == []  # nothing before the yes
    child.type("y\n")
    assert child.finish() == 0, child.screen
    assert "Published" in child.screen
    assert "100%" in child.screen or "0:00:00" in child.screen  # the rich bar was drawn


def test_anything_but_y_sends_nothing(terminal: Terminal, video_mp4: Path) -> None:
    terminal.sign_in("demo-private")
    argv = terminal.command("post", str(video_mp4), "--privacy", "Only me")
    with Pty(argv, terminal.subprocess_env()) as child:
        child.read_until("Type y to post")
        child.type("n\n")
        assert child.finish() == 1
        assert "Nothing was sent" in child.screen
    assert terminal.inits() == []
