"""Every rule of the Post page holds in the terminal, from the same `rules` calls: each refusal
exits 1 with its rule id and the emulator's request log shows no init and no upload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from directpost.rules import texts
from tests.fixtures.media_files import make_photo, make_video
from tests.terminal.conftest import Terminal


def refused_before_anything_is_sent(terminal: Terminal, *args: str) -> dict[str, object]:
    result = terminal.run("post", *args, "--json")
    assert result.exit_code == 1, result.output
    body = json.loads(result.stdout)
    assert body["outcome"] == "refused"
    sent = terminal.requests()
    assert terminal.inits() == [], sent
    assert not any(p.startswith("/upload/") for p in sent), sent
    return body


def rules_of(body: dict[str, object]) -> list[str]:
    return [v["rule"] for v in body.get("violations", [])]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("open_id", "extra", "rule", "words"),
    [
        ("demo-banned", ["--privacy", "Everyone"], "UX-1b", texts.TRY_AGAIN_LATER),
        ("demo-capped", ["--privacy", "Everyone"], "UX-1b", texts.TRY_AGAIN_LATER),
        ("demo-private", ["--privacy", "Everyone"], "UX-2b", "not one TikTok offers"),
        ("demo-no-comments", ["--privacy", "Everyone", "--allow-comment"], "UX-2c", "Comments"),
        ("demo-no-duet-stitch", ["--privacy", "Everyone", "--duet"], "UX-2c", "Duet"),
        ("demo-no-duet-stitch", ["--privacy", "Everyone", "--stitch"], "UX-2c", "Stitch"),
        ("demo-public", ["--privacy", "Everyone", "--your-brand"], "UX-3a", "Disclose"),
        (
            "demo-public",
            ["--privacy", "Everyone", "--disclose"],
            "UX-3b",
            texts.DISCLOSURE_NEEDS_CHOICE,
        ),
        (
            "demo-public",
            ["--privacy", "Only me", "--disclose", "--branded-content"],
            "UX-3c",
            texts.BRANDED_NOT_PRIVATE,
        ),
        ("demo-public", ["--privacy", "Everyone", "--title", "x" * 2201], "UX-2a", "2201"),
    ],
)
def test_each_rule_refuses_the_video_before_anything_is_sent(
    terminal: Terminal, video_mp4: Path, open_id: str, extra: list[str], rule: str, words: str
) -> None:
    terminal.sign_in(open_id)
    body = refused_before_anything_is_sent(terminal, str(video_mp4), *extra, "--yes")
    assert rule in rules_of(body)
    assert words in str(body["message"])


def test_a_video_longer_than_the_creators_maximum_is_refused_UX_1c(
    terminal: Terminal, video_mp4: Path
) -> None:
    terminal.emulator.control("creators", {"open_id": "demo-60s", "max_video_post_duration_sec": 1})
    terminal.sign_in("demo-60s")
    long_clip = video_mp4.with_name("long.mp4")
    make_video(long_clip, seconds=2.0, width=360, height=640)
    body = refused_before_anything_is_sent(
        terminal, str(long_clip), "--privacy", "Everyone", "--yes"
    )
    assert rules_of(body) == ["UX-1c"]
    assert "can post videos of up to 1 s" in str(body["message"])


def test_media_that_breaks_tiktoks_limits_is_refused_TECH_3(
    terminal: Terminal, bad_video: Path, tmp_path: Path
) -> None:
    terminal.sign_in("demo-public")
    body = refused_before_anything_is_sent(
        terminal, str(bad_video), "--privacy", "Everyone", "--yes"
    )
    assert "TECH-3" in rules_of(body)
    too_big = make_photo(tmp_path / "huge.jpg", width=2400, height=2400)
    body = refused_before_anything_is_sent(terminal, str(too_big), "--privacy", "Everyone", "--yes")
    assert "TECH-3" in rules_of(body)


def test_photos_have_no_duet_UX_2c(terminal: Terminal, photo_jpeg: Path) -> None:
    terminal.sign_in("demo-public")
    body = refused_before_anything_is_sent(
        terminal, str(photo_jpeg), "--privacy", "Everyone", "--duet", "--yes"
    )
    assert rules_of(body) == ["UX-2c"]


def test_an_unaudited_app_posts_only_privately_from_private_accounts_CAP_2(
    terminal: Terminal, video_mp4: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal.env["DIRECTPOST_APP_AUDITED"] = "false"
    monkeypatch.setenv("DIRECTPOST_APP_AUDITED", "false")
    terminal.sign_in("demo-public")
    body = refused_before_anything_is_sent(
        terminal, str(video_mp4), "--privacy", "Only me", "--yes"
    )
    assert "CAP-2" in rules_of(body)


def test_missing_privacy_in_a_script_is_an_error_with_no_default_UX_2b(
    terminal: Terminal, video_mp4: Path
) -> None:
    terminal.sign_in("demo-public")
    body = refused_before_anything_is_sent(terminal, str(video_mp4), "--yes")
    assert rules_of(body) == ["UX-2b"]
    assert "--privacy" in str(body["message"])


def test_nothing_is_sent_without_an_explicit_yes_UX_5c(terminal: Terminal, video_mp4: Path) -> None:
    terminal.sign_in("demo-public")
    result = terminal.run("post", str(video_mp4), "--privacy", "Everyone")
    assert result.exit_code == 1
    assert texts.declaration(branded_content=False).text in result.stdout
    assert "--yes" in result.stderr
    assert terminal.inits() == []
    assert not (terminal.config / "consent.jsonl").exists()


def test_schedule_is_refused_clearly(terminal: Terminal, video_mp4: Path) -> None:
    terminal.sign_in("demo-public")
    body = refused_before_anything_is_sent(
        terminal, str(video_mp4), "--privacy", "Everyone", "--schedule", "tomorrow 9:00", "--yes"
    )
    assert "posts now" in str(body["message"])
    assert terminal.requests() == []


@pytest.mark.parametrize(
    ("boxes", "label", "branded"),
    [
        (["--your-brand"], "Your video will be labeled as 'Promotional content'", False),
        (["--branded-content"], "Your video will be labeled as 'Paid partnership'", True),
        (
            ["--your-brand", "--branded-content"],
            "Your video will be labeled as 'Paid partnership'",
            True,
        ),
    ],
)
def test_disclosure_shows_the_label_and_the_declaration_variant_UX_3a_UX_4(
    terminal: Terminal, video_mp4: Path, boxes: list[str], label: str, branded: bool
) -> None:
    terminal.sign_in("demo-public")
    result = terminal.run(
        "post", str(video_mp4), "--privacy", "Everyone", "--disclose", *boxes, "--yes"
    )
    assert result.exit_code == 0, result.output
    assert (
        texts.label_prompt("video", your_brand="--your-brand" in boxes, branded_content=branded)
        == label
    )
    assert label in result.stdout
    assert texts.declaration(branded_content=branded).text in result.stdout
    info = terminal.emulator.state()["publishes"][0]["request"]["post_info"]
    assert info["brand_content_toggle"] is branded
    assert info["brand_organic_toggle"] is ("--your-brand" in boxes)


def test_the_consent_record_keeps_what_was_shown_and_chosen_UX_5c(
    terminal: Terminal, video_mp4: Path
) -> None:
    terminal.sign_in("demo-public")
    result = terminal.run(
        "post",
        str(video_mp4),
        "--privacy",
        "Friends",
        "--disclose",
        "--your-brand",
        "--yes",
        "--json",
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in (terminal.config / "consent.jsonl").read_text().splitlines()]
    consent, started = lines
    assert consent["type"] == "consent" and consent["confirmed_by"] == "--yes"
    assert consent["shown"]["nickname"] == "Pia Public"
    assert consent["shown"]["declaration"] == texts.declaration(branded_content=False).text
    assert consent["shown"]["label"] == "Your video will be labeled as 'Promotional content'"
    assert consent["choices"]["privacy_level"] == "MUTUAL_FOLLOW_FRIENDS"
    assert consent["creator_info"]["nickname"] == "Pia Public"
    assert started["publish_id"] == json.loads(result.stdout)["publish_id"]
    assert consent["at"] <= started["at"]
