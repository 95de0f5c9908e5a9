"""The upload host: ``PUT {upload_url}`` chunk by chunk (spec §3.3), streamed to disk.

The body of each PUT is written to the file as it arrives, so memory does not grow with the
upload; under the real server it goes from the socket to the file through one reused buffer
(``server.BodyToFileProtocol``). A chunk that arrives short is cut off the file again: nothing of
it counts. The SHA-256 shown for the upload is taken off this path, chunk by chunk in a worker
thread (``runtime.UploadDigest``), and is there once processing has run.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .backend import UploadRefused
from .http_helpers import body_to_file
from .processing import judge
from .runtime import Runtime


def routes(rt: Runtime) -> list[Route]:
    backend = rt.backend

    async def put_chunk(request: Request) -> Response:
        query = request.query_params
        try:
            publish = backend.upload_target(query.get("upload_id"), query.get("upload_token"))
        except UploadRefused as exc:
            return Response(exc.message, status_code=exc.status, media_type="text/plain")
        if publish.publish_id in rt.uploading:
            return Response(
                "Another chunk of this upload is being received; send chunks one at a time.",
                status_code=416,
                media_type="text/plain",
                headers={"Content-Range": backend.progress_header(publish)},
            )
        try:
            plan = backend.expect_chunk(
                publish,
                request.headers.get("content-type"),
                request.headers.get("content-range"),
                request.headers.get("content-length"),
            )
        except UploadRefused as exc:
            return Response(
                exc.message,
                status_code=exc.status,
                media_type="text/plain",
                headers={"Content-Range": backend.progress_header(publish)},
            )
        rt.uploading.add(publish.publish_id)
        try:
            path = backend.media_path(publish, 0)
            publish.media_paths = [path]
            digest = rt.upload_digest(publish.publish_id)
            digest.start_chunk(plan.offset)
            with path.open("r+b" if path.exists() else "wb", buffering=0) as handle:
                handle.truncate(plan.offset)
                received = await body_to_file(
                    request,
                    handle.fileno(),
                    plan.offset,
                    plan.length,
                    lambda written: digest.feed(path, plan.offset + written),
                )
                if received != plan.length:
                    digest.drop_chunk()
                    handle.truncate(plan.offset)
                    return Response(
                        "The body does not match Content-Length.",
                        status_code=400,
                        media_type="text/plain",
                        headers={"Content-Range": backend.progress_header(publish)},
                    )
            digest.feed(path, plan.offset + plan.length)
            digest.keep_chunk()
            backend.chunk_received(publish, plan)
        finally:
            rt.uploading.discard(publish.publish_id)
        headers = {"Content-Range": backend.progress_header(publish)}
        if not plan.final:
            return Response(status_code=206, headers=headers)
        # Hashed while the upload went on: what is left is the last few MiB.
        publish.sha256 = await rt.digests.pop(publish.publish_id, digest).hexdigest()
        await judge(backend, publish)
        rt.kick()
        return Response(status_code=201, headers=headers)

    return [Route("/upload/video/", put_chunk, methods=["PUT"])]
