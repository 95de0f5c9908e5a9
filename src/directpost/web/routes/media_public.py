"""`/m/{token}/{filename}`: the per-attempt media URLs TikTok pulls from (PULL_FROM_URL, TECH-2).

Each publish attempt has its own unguessable token; it answers only until it expires or is
revoked (an ambiguous init's URL is revoked at once, so a ghost publish can only fail). GET and
HEAD with Range, never a redirect (TikTok treats 3xx as invalid). An unknown, expired or revoked
token is a plain 404 that says nothing about which it was.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from directpost.media.serving import serve_media
from directpost.media.urls import is_well_formed_token
from directpost.publishing.pipeline import media_filename
from directpost.store import posts as store
from directpost.web.deps import SessionFactoryDep, SettingsDep
from directpost.web.routes.uploads import get_media_store

router = APIRouter(tags=["media"])

_NOT_FOUND = "No media here: the link is unknown, expired or withdrawn.\n"


@router.api_route("/m/{token}/{filename}", methods=["GET", "HEAD"], response_model=None)
async def attempt_media(
    request: Request, token: str, filename: str, factory: SessionFactoryDep, settings: SettingsDep
) -> Response:
    if not is_well_formed_token(token):
        return PlainTextResponse(_NOT_FOUND, status_code=404)
    with factory() as session:
        grant = store.media_for_token(session, token=token)
    if grant is None:
        return PlainTextResponse(_NOT_FOUND, status_code=404)
    for index, item in enumerate(grant.media):
        if media_filename(index, item) == filename:
            media_store = get_media_store(request, settings)
            return await serve_media(
                request,
                media_store,
                str(item["key"]),
                filename=str(item.get("filename") or filename),
                content_type=str(item.get("content_type") or "") or None,
            )
    return PlainTextResponse(_NOT_FOUND, status_code=404)
