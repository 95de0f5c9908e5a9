"""Content Posting API routes (spec §3) and the Display API's ``/v2/video/query/``: thin
wrappers around the backend. Also the addresses a queried video points to: its share URL and
embed link (redirects to what the emulator shows of the post) and its cover image.
"""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from directpost.media.probe import MediaProbeError

from .http_helpers import base_url, read_api_json
from .processing import cover_jpeg
from .responses import ok
from .runtime import Runtime
from .state import Post

PUBLISH = ("video.publish",)
UPLOAD = ("video.upload",)
EITHER = ("video.publish", "video.upload")
LIST = ("video.list",)


def routes(rt: Runtime) -> list[Route]:
    backend = rt.backend

    async def creator_info(request: Request) -> Response:
        tok = backend.authenticate(
            request.headers.get("authorization"), PUBLISH, endpoint="creator_info"
        )
        data = backend.creator_info(tok, base_url(request))
        rt.compliance.creator_info_answered(tok, data)
        return ok(data, now=backend.now())

    def init_route(endpoint: str, scopes: tuple[str, ...]):  # type: ignore[no-untyped-def]
        async def handler(request: Request) -> Response:
            tok = backend.authenticate(
                request.headers.get("authorization"), scopes, endpoint=endpoint
            )
            body = await read_api_json(request, backend)
            rt.compliance.check_init(tok, body, endpoint)  # strict: refuses what it flags
            data = backend.init_publish(tok, body, endpoint=endpoint, base_url=base_url(request))
            return ok(data, now=backend.now())

        return handler

    async def status_fetch(request: Request) -> Response:
        tok = backend.authenticate(
            request.headers.get("authorization"), EITHER, endpoint="status_fetch"
        )
        body = await read_api_json(request, backend)
        rt.compliance.check_status_fetch(tok, body)
        data = backend.status_fetch(tok, body)
        rt.compliance.status_answered(body, data)
        return ok(data, now=backend.now())

    async def cancel(request: Request) -> Response:
        tok = backend.authenticate(request.headers.get("authorization"), EITHER, endpoint="cancel")
        body = await read_api_json(request, backend)
        backend.cancel(tok, body)
        return ok(None, now=backend.now(), include_data=False)

    async def video_query(request: Request) -> Response:
        tok = backend.authenticate(
            request.headers.get("authorization"), LIST, endpoint="video_query"
        )
        body = await read_api_json(request, backend)
        data = backend.video_query(tok, request.query_params.get("fields"), body, base_url(request))
        return ok(data, now=backend.now())

    def _post(post_id: str) -> Post | None:
        return next((p for p in backend.posts if str(p.post_id) == post_id), None)

    async def share_page(request: Request) -> Response:
        """A share URL: the post on its creator's profile in the inspector."""
        post = _post(request.path_params["post_id"])
        if post is None:
            return Response("no such video", status_code=404, media_type="text/plain")
        return RedirectResponse(
            f"/_emulator/creators/{post.open_id}#post-{post.post_id}", status_code=302
        )

    async def player(request: Request) -> Response:
        """An embed link: the video itself."""
        post = _post(request.path_params["post_id"])
        if post is None:
            return Response("no such video", status_code=404, media_type="text/plain")
        return RedirectResponse(f"/_emulator/media/{post.publish_id}/0", status_code=302)

    async def cover(request: Request) -> Response:
        post = _post(request.path_params["post_id"])
        publish = backend.publishes.get(post.publish_id) if post else None
        if publish is None or publish.media_type != "VIDEO" or not publish.media_paths:
            return Response("no such cover", status_code=404, media_type="text/plain")
        info = publish.request.get("post_info") or {}
        at_ms = info.get("video_cover_timestamp_ms")
        at_ms = at_ms if isinstance(at_ms, int) and at_ms > 0 else 0
        try:
            jpeg = await anyio.to_thread.run_sync(cover_jpeg, publish.media_paths[0], at_ms)
        except (MediaProbeError, OSError, ValueError):
            return Response("no cover for this video", status_code=404, media_type="text/plain")
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "max-age=21600"})

    return [
        Route("/v2/post/publish/creator_info/query/", creator_info, methods=["POST"]),
        Route("/v2/post/publish/video/init/", init_route("video_init", PUBLISH), methods=["POST"]),
        Route(
            "/v2/post/publish/inbox/video/init/",
            init_route("inbox_video_init", UPLOAD),
            methods=["POST"],
        ),
        Route(
            "/v2/post/publish/content/init/",
            init_route("content_init", EITHER),
            methods=["POST"],
        ),
        Route("/v2/post/publish/status/fetch/", status_fetch, methods=["POST"]),
        Route("/v2/post/publish/cancel/", cancel, methods=["POST"]),
        Route("/v2/video/query/", video_query, methods=["POST"]),
        Route("/@{handle}/video/{post_id}", share_page, methods=["GET"]),
        Route("/player/v1/{post_id}", player, methods=["GET"]),
        Route("/_emulator/covers/{post_id}.jpg", cover, methods=["GET"]),
    ]
