"""Bulk (issue 17): reading a bulk CSV and checking each row by the prepared-posts rules, with no
I/O — every kind of problem, a BOM, `;` as separator, privacy labels, and 31 rows refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from directpost.publishing import bulk
from directpost.rules import limits

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MEDIA = [
    "trip/a.mp4",
    "trip/b.mov",
    "trip/c.jpg",
    "trip/d.webp",
    "trip/posts.csv",
    "trip/.DS_Store",
]


def _csv(*lines: str, sep: str = ",") -> bytes:
    header = sep.join(["file", "caption", "time", "privacy"])
    return ("\n".join([header, *lines]) + "\n").encode("utf-8")


def _checked(
    data: bytes, *, media: list[str] = MEDIA, zone: str = "Europe/Paris"
) -> list[bulk.CheckedRow]:
    return bulk.check_rows(bulk.read_csv(data), media_names=media, time_zone=zone, now=NOW)


def _one(line: str, **kwargs: object) -> bulk.CheckedRow:
    [row] = _checked(_csv(line), **kwargs)  # type: ignore[arg-type]
    return row


def test_a_good_row_reads_its_time_in_the_chosen_zone_and_its_privacy_label() -> None:
    row = _one("a.mp4,Hello #cat,2026-06-10 09:00,Only me")
    assert row.ok, row.problems
    assert row.kind == "video" and row.files == ("a.mp4",)
    assert row.privacy == "SELF_ONLY"
    assert row.scheduled_at == datetime(2026, 6, 10, 7, 0, tzinfo=UTC)  # Paris is UTC+2 in June


def test_iso_8601_times_and_an_empty_time_are_read() -> None:
    rows = _checked(_csv("a.mp4,one,2026-06-10T09:00:00+00:00,", "b.mov,two,,"))
    assert [r.problems for r in rows] == [[], []]
    assert rows[0].scheduled_at == datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
    assert rows[1].scheduled_at is None  # no suggested time: it goes when confirmed


@pytest.mark.parametrize(
    ("written", "level"),
    [
        ("Everyone", "PUBLIC_TO_EVERYONE"),
        ("friends", "MUTUAL_FOLLOW_FRIENDS"),
        ("FOLLOWERS", "FOLLOWER_OF_CREATOR"),
        ("only  me", "SELF_ONLY"),
        ("PUBLIC_TO_EVERYONE", "PUBLIC_TO_EVERYONE"),
        ("self_only", "SELF_ONLY"),
        ("", ""),
    ],
)
def test_privacy_takes_tiktok_names_and_the_labels_people_read(written: str, level: str) -> None:
    assert bulk.privacy_level(written) == level


def test_a_bom_and_semicolons_are_read() -> None:
    data = "\ufeff" + "file;caption;time;privacy\na.mp4;Hello, world;2026-06-10 09:00;Friends\n"
    row = _one_from(data.encode("utf-8"))
    assert row.ok, row.problems
    assert row.row.caption == "Hello, world" and row.privacy == "MUTUAL_FOLLOW_FRIENDS"


def _one_from(data: bytes) -> bulk.CheckedRow:
    [row] = _checked(data)
    return row


def test_optional_columns_in_any_order_and_blank_lines() -> None:
    data = (
        b"Privacy,note,FILE,caption,time,description\n\n"
        b"everyone,for Friday,c.jpg|d.webp,Beach,2026-06-10 09:00,Sun and sand\n"
    )
    row = _one_from(data)
    assert row.ok, row.problems
    assert row.kind == "photos" and row.files == ("c.jpg", "d.webp")
    assert row.row.note == "for Friday" and row.row.description == "Sun and sand"


def test_more_than_thirty_rows_refuse_the_whole_batch() -> None:
    lines = [f"a{i}.mp4,post {i},," for i in range(bulk.MAX_ROWS + 1)]
    with pytest.raises(bulk.BatchRefused, match="more than 30 rows"):
        bulk.read_csv(_csv(*lines))
    assert len(bulk.read_csv(_csv(*lines[: bulk.MAX_ROWS]))) == bulk.MAX_ROWS


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"caption,time\nx,y\n", "missing: file, privacy"),
        (b"file,caption,time,privacy,hashtags\n", "Unknown column “hashtags”"),
        (b"file,file,caption,time,privacy\na,b,c,d,e\n", "appear twice: file"),
        (b"file,caption,time,privacy\n", "no posts under it"),
        (b"", "empty"),
        ("file,caption,time,privacy\na.mp4,Caf\xe9,,\n".encode("latin-1"), "not UTF-8"),
        (b"file,caption,time,privacy\na.mp4,\x00,,\n", "NUL"),
        (b"x" * (bulk.MAX_CSV_BYTES + 1), "larger than"),
    ],
)
def test_a_file_that_cannot_be_a_batch_is_refused_whole(data: bytes, words: str) -> None:
    with pytest.raises(bulk.BatchRefused) as refused:
        bulk.read_csv(data)
    assert words in str(refused.value)


def test_an_unknown_time_zone_refuses_the_batch() -> None:
    with pytest.raises(bulk.BatchRefused, match="Unknown time zone"):
        _checked(_csv("a.mp4,x,,"), zone="Mars/Olympus")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (",no file,,", "No file named"),
        ("missing.mp4,x,,", "“missing.mp4” was not among the media files sent"),
        ("A.MP4,x,,", "“A.MP4” was not among the media files sent"),
        ("notes.txt,x,,", "is not a kind of file TikTok takes"),
        ("a.mp4|b.mov,x,,", "one video, or one to 35 photos"),
        ("a.mp4|c.jpg,x,,", "one video, or one to 35 photos"),
        ("a.mp4,x,,Public", "The privacy “Public” is not one TikTok knows"),
        ("a.mp4,x,2026-05-31 09:00,", "has passed"),
        ("a.mp4,x,2026-08-15 09:00,", "at most 60 days ahead"),
        ("a.mp4,x,next friday,", "not a date and time: write it like 2026-12-24 09:00"),
        ("a.mp4,x,24/12/2026 09:00,", "not a date and time"),
        (
            "a.mp4," + "w" * (limits.VIDEO_TITLE_MAX_UTF16 + 1) + ",,",
            f"at most {limits.VIDEO_TITLE_MAX_UTF16} characters",
        ),
        (
            "c.jpg," + "w" * (limits.PHOTO_TITLE_MAX_UTF16 + 1) + ",,",
            f"at most {limits.PHOTO_TITLE_MAX_UTF16} characters",
        ),
        ("a.mp4,x,,,extra cell", "more cells than the first row names"),
    ],
)
def test_each_problem_of_a_row_is_told_in_plain_words(line: str, words: str) -> None:
    row = _one(line)
    assert not row.ok
    assert any(words in p for p in row.problems), row.problems


def test_a_description_goes_with_photos_only() -> None:
    data = b"file,caption,time,privacy,description\na.mp4,x,,,words\nc.jpg,x,,,words\n"
    video, photo = _checked(data)
    assert any("photo posts only" in p for p in video.problems)
    assert photo.ok, photo.problems


def test_a_file_named_twice_is_refused_on_the_later_row_only() -> None:
    first, second = _checked(_csv("a.mp4,one,,", "trip/a.mp4,two,,"))
    assert first.ok
    assert any("used by row 1 already" in p for p in second.problems)


def test_two_sent_files_of_the_same_name_are_ambiguous() -> None:
    row = _one("a.mp4,x,,", media=["one/a.mp4", "two/a.mp4"])
    assert any("Two files named “a.mp4”" in p for p in row.problems)


def test_one_bad_row_leaves_the_others_good() -> None:
    rows = _checked(_csv("a.mp4,good,,", "b.mov,bad,2020-01-01 10:00,", "c.jpg,good too,,"))
    assert [r.ok for r in rows] == [True, False, True]


def test_files_no_row_names_are_listed_without_the_csv_and_hidden_files() -> None:
    rows = _checked(_csv("a.mp4,x,,"))
    assert bulk.unnamed_files(rows, MEDIA, "posts.csv") == ["b.mov", "c.jpg", "d.webp"]


def test_the_row_key_follows_the_row_and_its_bytes_not_its_place() -> None:
    [row] = bulk.read_csv(_csv("a.mp4,x,,"))
    [moved] = bulk.read_csv(_csv("b.mov,y,,", "a.mp4,x,,"))[1:]
    key = bulk.row_key(
        csv_name="dir/p.csv", row=row, account_id=1, time_zone="UTC", file_digests=["d1"]
    )
    same = bulk.row_key(
        csv_name="p.csv", row=moved, account_id=1, time_zone="UTC", file_digests=["d1"]
    )
    assert key == same and key.startswith("bulk-") and len(key) <= 200
    for change in (
        {"file_digests": ["d2"]},
        {"account_id": 2},
        {"time_zone": "Europe/Paris"},
        {"csv_name": "q.csv"},
    ):
        args = {
            "csv_name": "p.csv",
            "row": row,
            "account_id": 1,
            "time_zone": "UTC",
            "file_digests": ["d1"],
        }
        args.update(change)
        assert bulk.row_key(**args) != key  # type: ignore[arg-type]
