"""`/m/{token}/{filename}`: the per-attempt media URLs TikTok pulls from (PULL_FROM_URL, TECH-2).

Each publish attempt has its own unguessable token; it answers only until it expires or is
revoked (an ambiguous init's URL is revoked at once, so a ghost publish can only fail). GET and
HEAD with Range, never a redirect (TikTok treats 3xx as invalid). An unknown, expired or revoked
token is a plain 404 that says nothing about which it was.

Bytes are served only for an attempt whose `publish_id` is stored. While the init's answer is
still outstanding (TikTok may start pulling before we have read its answer), the request is
held until the job has either stored the answer (then it is served) or declared the attempt
ambiguous (then 404): so a ghost publish, whose answer was lost, can never get the media.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from directpost.media.serving import serve_media
from directpost.media.urls import NOT_SERVED_TEXT, attempt_media_filename, is_well_formed_token
from directpost.store import posts as store
from directpost.web.api_contract import DATABASE, INVALID, MEDIA_BYTES, answers
from directpost.web.deps import ServicesDep

router = APIRouter(tags=["media"])

#: The media, or a 404 that does not say why (unknown, expired or withdrawn).
_ANSWERS = answers(MEDIA_BYTES, DATABASE, INVALID)
_NOT_FOUND = NOT_SERVED_TEXT

#: Longest a pull waits for the init's answer to be stored (apps may shorten it for tests).
HOLD_S = 300.0
#: A held pull looks for the answer this often during the first `HOLD_OFTEN_S`, then less often.
HOLD_FIRST_PAUSE_S = 0.05
HOLD_OFTEN_S = 2.0


async def _wait_for_answer(
    request: Request, factory: sessionmaker[Session], token: str
) -> store.MediaGrant | None:
    hold = float(getattr(request.app.state, "media_hold_s", HOLD_S))

    def look() -> store.MediaGrant | None:
        with factory() as session:
            return store.media_for_token(session, token=token)

    waited, pause = 0.0, HOLD_FIRST_PAUSE_S
    while True:
        grant = await run_in_threadpool(look)
        if grant is None or grant.confirmed:
            return grant
        if waited >= hold:
            return None
        # The answer is normally stored well within a second or two (the job stores it as soon
        # as it reads it), and the pull serves once it is: look often that long, then less
        # often, since many pulls may wait at once and each look takes a database connection
        # the webhooks need too. (Doubling from the start served a pull up to 0.4 s late.)
        await asyncio.sleep(pause)
        waited += pause
        if waited >= HOLD_OFTEN_S:
            pause = min(1.0, pause * 2)


@router.get("/m/{token}/{filename}", response_class=Response, responses=_ANSWERS)
@router.head("/m/{token}/{filename}", response_class=Response, responses=_ANSWERS)
async def attempt_media(
    request: Request, token: str, filename: str, services: ServicesDep
) -> Response:
    if not is_well_formed_token(token):
        return PlainTextResponse(_NOT_FOUND, status_code=404)
    grant = await _wait_for_answer(request, services.factory, token)
    if grant is None:
        return PlainTextResponse(_NOT_FOUND, status_code=404)
    for index, item in enumerate(grant.media):
        if attempt_media_filename(index, str(item.get("filename", ""))) == filename:
            return await serve_media(
                request,
                services.media_store,
                str(item["key"]),
                filename=str(item.get("filename") or filename),
                content_type=str(item.get("content_type") or "") or None,
                on_last_byte=_recorder(services.factory, token, index),
            )
    return PlainTextResponse(_NOT_FOUND, status_code=404)


def _recorder(factory: sessionmaker[Session], token: str, index: int) -> Callable[[], None]:
    """Record that TikTok got file `index` of this attempt whole: a pull it then reports failed
    was not for want of our bytes, and is not retried automatically (`lifecycle`)."""

    def record() -> None:
        with factory() as session, session.begin():
            store.record_media_served(session, token=token, index=index)

    return record
