"""Content Posting API routes (spec §3): thin wrappers around the backend."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .http_helpers import base_url, read_api_json
from .responses import ok
from .runtime import Runtime

PUBLISH = ("video.publish",)
UPLOAD = ("video.upload",)
EITHER = ("video.publish", "video.upload")


def routes(rt: Runtime) -> list[Route]:
    backend = rt.backend

    async def creator_info(request: Request) -> Response:
        tok = backend.authenticate(
            request.headers.get("authorization"), PUBLISH, endpoint="creator_info"
        )
        return ok(backend.creator_info(tok, base_url(request)), now=backend.now())

    def init_route(endpoint: str, scopes: tuple[str, ...]):  # type: ignore[no-untyped-def]
        async def handler(request: Request) -> Response:
            tok = backend.authenticate(
                request.headers.get("authorization"), scopes, endpoint=endpoint
            )
            body = await read_api_json(request, backend)
            data = backend.init_publish(tok, body, endpoint=endpoint, base_url=base_url(request))
            return ok(data, now=backend.now())

        return handler

    async def status_fetch(request: Request) -> Response:
        tok = backend.authenticate(
            request.headers.get("authorization"), EITHER, endpoint="status_fetch"
        )
        body = await read_api_json(request, backend)
        return ok(backend.status_fetch(tok, body), now=backend.now())

    async def cancel(request: Request) -> Response:
        tok = backend.authenticate(request.headers.get("authorization"), EITHER, endpoint="cancel")
        body = await read_api_json(request, backend)
        backend.cancel(tok, body)
        return ok(None, now=backend.now(), include_data=False)

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
    ]
