"""TECH-2: each attempt's media URL is unguessable and sits under the operator's verified prefix."""

from __future__ import annotations

import pytest

from directpost.media.urls import (
    is_well_formed_token,
    media_url,
    new_media_token,
    safe_media_filename,
)


def test_tokens_are_url_safe_unique_and_carry_256_bits() -> None:
    tokens = {new_media_token() for _ in range(500)}
    assert len(tokens) == 500
    for token in tokens:
        assert is_well_formed_token(token)
        assert len(token) == 43  # 32 random bytes in URL-safe base64


def test_tech2_the_url_lies_under_the_media_base_url() -> None:
    token = new_media_token()
    url = media_url("https://media.example.com/directpost/", token, "clip.mp4")
    assert url == f"https://media.example.com/directpost/m/{token}/clip.mp4"
    assert url.startswith("https://media.example.com/directpost/m/")


def test_a_url_is_refused_for_a_token_not_made_by_new_media_token() -> None:
    with pytest.raises(ValueError, match="new_media_token"):
        media_url("https://media.example.com", "guessable", "clip.mp4")


def test_a_base_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="https://"):
        media_url("media.example.com", new_media_token(), "clip.mp4")


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("My Holiday (1).MP4", "My-Holiday-1.mp4"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\clip.mov", "clip.mov"),
        ("été à la plage.webm", "ete-a-la-plage.webm"),
        ("...", "media"),
        ("photo", "photo"),
        ("?#%.jpg", "media.jpg"),
    ],
)
def test_filenames_in_urls_are_made_safe_and_keep_their_extension(name: str, safe: str) -> None:
    assert safe_media_filename(name) == safe


def test_the_filename_in_the_url_is_the_safe_one() -> None:
    token = new_media_token()
    assert media_url("https://m.example", token, "a b/c d.JPG").endswith(f"/{token}/c-d.jpg")
