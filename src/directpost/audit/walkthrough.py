"""The recorded walk-through (WebM): the whole flow in the order TikTok's reviewers ask for it.

Sign in with TikTok (the emulator's consent page), the Post page with every control, upload,
publish, the status followed to the end, and the post on the creator's profile in the emulator.
Beside the video, `compliance-log.json`: every request the app sent to the emulator during the
walk-through with the emulator's compliance verdicts (what TikTok's reviewers would flag), which
must be none.

Playwright's own `record_video_dir` needs an ffmpeg build that Playwright downloads itself, which
this project never does (no downloads at run time). So the recording is Chromium's own
screencast, taken through Playwright's CDP session (each painted frame, with its time), and
encoded to VP8 WebM with PyAV (already a dependency): a constant 10 fps stream in which each
frame shows what the browser last painted at that moment.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from PIL import Image

from directpost.audit.samples import make_clip, write_frames
from directpost.audit.screens import TIMEOUT_MS, upload
from directpost.audit.stack import Stack

VIEWPORT = {"width": 1280, "height": 800}
FPS = 10
PAUSE_MS = 900


class ScreenRecorder:
    """Collects Chromium's screencast frames of one page (JPEG bytes with their times)."""

    def __init__(self, context: Any, page: Any) -> None:
        self.frames: list[tuple[float, bytes]] = []
        self.cdp = context.new_cdp_session(page)
        self.cdp.on("Page.screencastFrame", self._on_frame)

    def _on_frame(self, event: dict[str, Any]) -> None:
        self.frames.append((float(event["metadata"]["timestamp"]), base64.b64decode(event["data"])))
        self.cdp.send("Page.screencastFrameAck", {"sessionId": event["sessionId"]})

    def start(self) -> None:
        self.cdp.send(
            "Page.startScreencast",
            {
                "format": "jpeg",
                "quality": 80,
                "maxWidth": VIEWPORT["width"],
                "maxHeight": VIEWPORT["height"],
            },
        )

    def stop(self) -> None:
        self.cdp.send("Page.stopScreencast")


def encode_webm(frames: list[tuple[float, bytes]], path: Path, *, tail_s: float = 1.5) -> float:
    """Write `frames` as a constant-rate VP8 WebM; returns its length in seconds."""
    if not frames:
        raise RuntimeError("Chromium sent no screencast frame: nothing to encode.")
    frames = sorted(frames, key=lambda f: f[0])
    start, end = frames[0][0], frames[-1][0] + tail_s
    width, height = (VIEWPORT["width"] // 2) * 2, (VIEWPORT["height"] // 2) * 2
    rate = Fraction(FPS)
    count = int((end - start) * FPS) + 1
    with av.open(str(path), mode="w", format="webm") as box:
        stream = box.add_stream(
            "libvpx", rate=rate, options={"deadline": "realtime", "cpu-used": "8"}
        )
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = 1_200_000

        def pictures() -> Iterator[Image.Image]:
            """The latest screencast frame at each tick of the constant rate."""
            shown = -1
            picture: Image.Image | None = None
            for index in range(count):
                at = start + index / FPS
                latest = shown
                while latest + 1 < len(frames) and frames[latest + 1][0] <= at:
                    latest += 1
                if latest != shown or picture is None:
                    shown = max(latest, 0)
                    raw = Image.open(io.BytesIO(frames[shown][1])).convert("RGB")
                    picture = Image.new("RGB", (width, height), (255, 255, 255))
                    picture.paste(raw, (0, 0))
                yield picture

        write_frames(box, stream, pictures(), rate)
    return round(count / FPS, 1)


def _walk(page: Any, stack: Stack, clip: Path, open_id: str, steps: list[str]) -> None:
    def step(text: str) -> None:
        steps.append(text)
        page.wait_for_timeout(PAUSE_MS)

    page.goto("/")
    step("The app's home page: what it does, not affiliated with TikTok, Continue with TikTok")
    page.locator("#content").get_by_role("link", name="Continue with TikTok").click()
    page.locator(f'input[name="open_id"][value="{open_id}"]').wait_for()
    step("Sign in with TikTok: the consent page lists the scopes the app asks for")
    page.locator(f'input[name="open_id"][value="{open_id}"]').check()
    page.wait_for_timeout(400)
    page.locator("#allow").click()
    page.wait_for_url("**/compose")
    step("The Post page: the receiving account's nickname and avatar (creator_info)")
    upload(page, clip)
    step("Upload: chunked with a progress bar, checked, then previewed with a cover picker")
    page.get_by_test_id("cover-picker").fill("1200")
    title = page.get_by_label("Title")
    title.click()
    page.keyboard.type("My own clip, posted with consent #audit", delay=25)
    step("Title typed by the creator; nothing is preset")
    select = page.locator("#privacy_level")
    select.focus()
    step("Privacy: no default; options exactly as creator_info gives them")
    select.select_option("PUBLIC_TO_EVERYONE")
    step("Privacy chosen by the creator")
    for name in ("Allow comment", "Duet", "Stitch"):
        page.get_by_label(name).check()
        page.wait_for_timeout(300)
    step("Interactions: all unchecked by default, checked by the creator")
    page.get_by_label("Disclose post content").check()
    page.get_by_test_id("publish-wrap").hover()
    step("Disclosure on with nothing checked: publish disabled")
    page.get_by_label("Your brand").check()
    step("Your brand: labeled 'Promotional content'")
    page.get_by_label("Branded content").check()
    step("Branded content: 'Paid partnership', the Branded Content Policy in the declaration")
    page.get_by_label("Branded content").uncheck()
    page.get_by_label("Your brand").uncheck()
    page.get_by_label("Disclose post content").uncheck()
    page.wait_for_load_state("networkidle")
    page.get_by_test_id("publish").hover()
    step("The declaration stands before the publish button")
    page.get_by_test_id("publish").click()
    page.wait_for_url("**/posts/*")
    step("Published by the creator's own press: it may take a few minutes to process")
    page.locator("#post-live .state-published").wait_for(timeout=60_000)
    step("The status is followed live until TikTok's final answer: published")
    page.goto(f"{stack.emulator.base_url}/_emulator/creators/{open_id}")
    page.wait_for_load_state("networkidle")
    step("The post on the creator's profile in the local TikTok (emulator inspector)")
    page.mouse.wheel(0, 400)
    step("The end")


def record_walkthrough(browser: Any, stack: Stack, out_dir: Path, work_dir: Path) -> dict[str, Any]:
    """Record the flow into `out_dir/walkthrough.webm`; returns what the report says of it."""
    clip = make_clip(work_dir / "walkthrough-clip.mp4", seconds=3.0)
    open_id = stack.emulator.new_creator(nickname="Walter Walkthrough")
    context = browser.new_context(
        base_url=stack.audited.base_url, locale="en-US", viewport=VIEWPORT
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    recorder = ScreenRecorder(context, page)
    steps: list[str] = []
    # The log from here on is the walk-through's own (the screenshots' requests came before).
    stack.emulator.control("DELETE", "/_emulator/compliance")
    recorder.start()
    try:
        _walk(page, stack, clip, open_id, steps)
    finally:
        recorder.stop()
        context.close()
    target = out_dir / "walkthrough.webm"
    seconds = encode_webm(recorder.frames, target)
    return {
        "file": target.name,
        "seconds": seconds,
        "frames_painted": len(recorder.frames),
        "steps": steps,
        "creator": open_id,
        "compliance": save_compliance_log(stack, out_dir / COMPLIANCE_LOG),
    }


COMPLIANCE_LOG = "compliance-log.json"


def save_compliance_log(stack: Stack, target: Path) -> dict[str, Any]:
    """Write the emulator's compliance log to `target`; returns what the report says of it."""
    log: dict[str, Any] = stack.emulator.control("GET", "/_emulator/compliance")
    target.write_text(json.dumps(log, indent=2, ensure_ascii=False), encoding="utf-8")
    flagged = [e for e in log["entries"] if e["verdicts"]]
    return {
        "file": target.name,
        "requests": len(log["entries"]),
        "verdict_count": log["verdict_count"],
        "verdicts_by_rule": log["verdicts_by_rule"],
        "flagged": flagged,
        "paths": sorted({f"{e['method']} {e['path']}" for e in log["entries"]}),
    }
