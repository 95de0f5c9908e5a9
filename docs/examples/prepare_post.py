#!/usr/bin/env python3
"""Prepare a TikTok post in directpost for the creator to review (docs/api.md).

Uploads a video (or photos) to a directpost app in chunks, resuming where a previous run
stopped, prepares a post with your suggested caption, and prints the address where the
account's owner reviews it. Nothing is published: the creator chooses who can see the post and
confirms it on the Post page of the app.

Only Python's standard library is used, so the script runs anywhere Python 3.10 or later does:

    export DIRECTPOST_URL=https://directpost.example.org
    export DIRECTPOST_TOKEN=dpat_...          # Accounts page -> API tokens
    python3 prepare_post.py clip.mp4 --caption "Harbour at dawn #sea"

A run that stops (network down, laptop closed) keeps its place in `<file>.directpost.json`
beside the first file; run the same command again to continue the upload and to send the
same Idempotency-Key, so a retried request never makes a second prepared post.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from http.client import HTTPMessage
from pathlib import Path
from typing import Any

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".webp", ".png"}
#: A chunk may hold at most 64 MB; smaller chunks lose less when a connection drops.
DEFAULT_CHUNK = 8 * 1024 * 1024
#: Answers worth waiting for and asking again (rate limit, app or TikTok busy).
RETRY_STATUSES = {429, 502, 503, 504}


class ApiFailure(Exception):
    """The app refused a request; `status` and the API's error object say why."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        problems = error.get("problems") or []
        super().__init__(f"HTTP {status} {error.get('code', '')}: {error.get('message', '')}")
        self.status = status
        self.error = error
        self.problems = problems


class Api:
    """A tiny client for directpost's `/api/v1`: bearer token, JSON, retries on 429/503."""

    def __init__(self, base_url: str, token: str, *, tries: int = 5) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise SystemExit(f"DIRECTPOST_URL must start with https:// (got {base_url!r})")
        self.base = base_url.rstrip("/") + "/api/v1"
        self.token = token
        self.tries = tries

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, HTTPMessage, Any]:
        """(status, headers, JSON body) of a 2xx answer; raises `ApiFailure` otherwise."""
        sent = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        sent.update(headers or {})
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            sent["Content-Type"] = "application/json"
        elif data is not None:
            sent["Content-Type"] = "application/octet-stream"
        for attempt in range(1, self.tries + 1):
            # http(s) only: checked in __init__, so no file: URL can be opened.
            request = urllib.request.Request(  # noqa: S310
                self.base + path, data=data, headers=sent, method=method
            )
            try:
                with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310
                    raw = answer.read()
                    return answer.status, answer.headers, json.loads(raw) if raw else None
            except urllib.error.HTTPError as refused:
                raw = refused.read()
                try:
                    error = json.loads(raw)["error"]
                except (ValueError, KeyError, TypeError):
                    error = {"code": "unexpected", "message": raw[:200].decode("utf-8", "replace")}
                if refused.code in RETRY_STATUSES and attempt < self.tries:
                    wait = int(refused.headers.get("Retry-After") or 2**attempt)
                    print(f"  {error.get('message', '')} Waiting {wait} s.", file=sys.stderr)
                    time.sleep(min(wait, 120))
                    continue
                raise ApiFailure(refused.code, error) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as lost:
                # No answer: safe to ask again, every call here is a read, a resumable
                # chunk, or a create with an Idempotency-Key.
                if attempt == self.tries:
                    raise
                print(f"  no answer ({lost}); trying again", file=sys.stderr)
                time.sleep(2**attempt)
        raise AssertionError("unreachable")


def load_state(path: Path) -> dict[str, Any]:
    try:
        state: dict[str, Any] = json.loads(path.read_text("utf-8"))
        return state
    except (OSError, ValueError):
        return {}


def save_state(path: Path, state: dict[str, Any]) -> None:
    path.write_text(json.dumps(state, indent=2), "utf-8")


def choose_account(api: Api, wanted: int | None) -> int:
    _, _, found = api.call("GET", "/accounts")
    accounts = found["accounts"]
    if not accounts:
        sys.exit("No connected TikTok account: connect one in the app first.")
    for account in accounts:
        if wanted is None or account["id"] == wanted:
            print(f"Account: {account['nickname']} (id {account['id']}, {account['role']})")
            return int(account["id"])
    sys.exit(f"Account {wanted} is not one you may prepare posts for (see GET /api/v1/accounts).")


def start_upload(api: Api, account_id: int, kind: str, files: list[Path]) -> dict[str, Any]:
    announced = [{"name": f.name, "size": f.stat().st_size} for f in files]
    body = {"account_id": account_id, "kind": kind, "files": announced}
    _, _, upload = api.call("POST", "/uploads", body=body)
    return dict(upload)


def send_file(
    api: Api, upload_id: str, file: dict[str, Any], path: Path, *, chunk: int, budget: list[int]
) -> bool:
    """Send the rest of one file from where the app says its bytes end; False when the
    chunk budget (`--stop-after-chunks`) ran out first."""
    size, offset = int(file["size"]), int(file["received"])
    with path.open("rb") as handle:
        while offset < size:
            if budget and budget[0] <= 0:
                return False
            handle.seek(offset)
            data = handle.read(chunk)
            url = f"/uploads/{upload_id}/files/{file['id']}?offset={offset}"
            try:
                _, _, got = api.call("PUT", url, data=data)
                offset = int(got["received"])
            except ApiFailure as failure:
                if failure.status != 409 or "received" not in failure.error:
                    raise
                # The app holds a different amount (an earlier answer was lost): go on from there.
                offset = int(failure.error["received"])
            if budget:
                budget[0] -= 1
            print(f"  {path.name}: {offset:,} of {size:,} bytes")
    return True


def prepare(api: Api, body: dict[str, Any], key: str) -> tuple[int, Any, dict[str, Any]]:
    status, headers, prepared = api.call(
        "POST", "/prepared-posts", body=body, headers={"Idempotency-Key": key}
    )
    return status, headers, dict(prepared)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="one video, or 1 to 35 photos")
    parser.add_argument("--url", default=os.environ.get("DIRECTPOST_URL", ""))
    parser.add_argument("--token", default=os.environ.get("DIRECTPOST_TOKEN", ""))
    parser.add_argument("--account", type=int, help="account id (default: your first)")
    parser.add_argument("--caption", default="", help="the suggested caption")
    parser.add_argument("--description", default="", help="photo posts only")
    parser.add_argument(
        "--privacy-suggestion",
        default="",
        help="e.g. PUBLIC_TO_EVERYONE: shown to the creator as text; the creator chooses",
    )
    parser.add_argument("--schedule", default="", help="ISO 8601 time, e.g. 2030-05-01T09:30")
    parser.add_argument("--time-zone", default="UTC", help="the schedule's zone, e.g. Europe/Paris")
    parser.add_argument("--note", default="", help="a note to the creator")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK)
    parser.add_argument(
        "--stop-after-chunks", type=int, default=0, help="stop early, to try resuming"
    )
    args = parser.parse_args(argv)
    if not args.url or not args.token:
        parser.error("set DIRECTPOST_URL and DIRECTPOST_TOKEN (or pass --url and --token)")
    return args


def run(args: argparse.Namespace) -> int:
    files: list[Path] = args.files
    kind = "photos" if files[0].suffix.lower() in PHOTO_SUFFIXES else "video"
    api = Api(args.url, args.token)
    state_path = files[0].with_name(files[0].name + ".directpost.json")
    state = load_state(state_path)
    account_id = choose_account(api, args.account)

    def body(upload_id: str) -> dict[str, Any]:
        return {
            "account_id": account_id,
            "upload_id": upload_id,
            "title": args.caption,
            "description": args.description,
            "privacy_suggestion": args.privacy_suggestion,
            "schedule_at": args.schedule,
            "time_zone": args.time_zone,
            "note": args.note,
        }

    upload: dict[str, Any] | None = None
    answer = None
    if state.get("upload_id") and state.get("account_id") == account_id:
        try:  # resume: the app says how much of each file it holds
            _, _, upload = api.call("GET", f"/uploads/{state['upload_id']}")
            print(f"Resuming upload {state['upload_id']}")
        except ApiFailure as failure:
            if failure.status != 404:
                raise
            # Gone: perhaps the last run made the prepared post (the media then went to the
            # account's owner) and stopped before hearing so. The same key answers that post.
            try:
                answer = prepare(api, body(state["upload_id"]), state["idempotency_key"])
            except ApiFailure:
                state = {}
    if answer is None:
        if upload is None:
            upload = start_upload(api, account_id, kind, files)
            state = {"account_id": account_id, "upload_id": upload["id"]}
        # One key per prepared post, kept until it is made: a retry sends the same one.
        state.setdefault("idempotency_key", str(uuid.uuid4()))
        save_state(state_path, state)

        budget = [args.stop_after_chunks] if args.stop_after_chunks else []
        if upload["state"] == "receiving":
            for file, path in zip(upload["files"], files, strict=True):
                if not send_file(
                    api, upload["id"], file, path, chunk=args.chunk_size, budget=budget
                ):
                    print("Stopped early; run the same command again to resume.")
                    return 3
            _, _, upload = api.call("POST", f"/uploads/{upload['id']}/finish")
        if upload["state"] != "ready":
            print("The app's checks refused the media:", *upload["problems"], sep="\n  ")
            state_path.unlink(missing_ok=True)
            return 1
        answer = prepare(api, body(upload["id"]), state["idempotency_key"])

    status, headers, prepared = answer
    state_path.unlink(missing_ok=True)
    again = " (made by an earlier run)" if headers.get("Idempotent-Replayed") else ""
    print(f"Prepared post {prepared['id']}: {prepared['state']}{again} [HTTP {status}]")
    print(f"The creator reviews it at: {prepared['review_url']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except ApiFailure as failure:
        print(failure, *failure.problems, sep="\n  ", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
