"""The upload host: ``PUT {upload_url}`` chunk by chunk (spec §3.3), streamed to disk.

The body of each PUT is written to the file as it arrives, so memory does not grow with the
upload; under the real server it goes from the socket to the file through one reused buffer
(``server.BodyToFileProtocol``). A chunk that arrives short is cut off the file again: nothing of
it counts. The SHA-256 shown for the upload is taken off this path, chunk by chunk in a worker
thread (``runtime.UploadDigest``), and is there once processing has run.

A refused chunk's body is read and dropped before the answer goes out (``refuse``): most clients
(urllib, requests, curl without ``Expect``) write the whole body before they read, and a server
that closes with bytes still unread makes the kernel send a reset, which the client reports
instead of the answer.
"""

from __future__ import annotations

import os

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .backend import UploadRefused
from .http_helpers import body_to_file
from .processing import judge
from .runtime import Runtime

#: How far past the largest chunk TikTok allows a refused body is still read and dropped. Beyond
#: it the emulator answers and closes without reading (RFC 9112 §9.6 allows it; the client may
#: then see a reset, as it would from any server that will not swallow an unbounded body).
DISCARD_MARGIN = 1024 * 1024


async def discard_body(request: Request, limit: int) -> bool:
    """Read the request's body and drop it; False when it was left unread (then close).

    A client that sent ``Expect: 100-continue`` is waiting for leave to send the body; it gets
    the refusal instead and sends nothing, so there is nothing to read. A body declared longer
    than ``limit`` is not read either.
    """
    if request.headers.get("expect", "").strip().lower() == "100-continue":
        return False
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.strip().isdigit() or int(declared) > limit):
        return False
    if declared is not None and int(declared) == 0:
        return True
    sink = os.open(os.devnull, os.O_WRONLY)
    try:
        # The same path a kept chunk takes (one reused buffer under the real server), to nowhere.
        received = await body_to_file(request, sink, 0, limit)
    finally:
        os.close(sink)
    return received <= limit


async def refuse(
    request: Request, limit: int, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    """The plain-text answer to a refused chunk, sent once its body is read (see the module)."""
    answer_headers = dict(headers or {})
    if not await discard_body(request, limit):
        answer_headers["Connection"] = "close"  # the rest of the body is not read: say so
    return Response(message, status_code=status, media_type="text/plain", headers=answer_headers)


def routes(rt: Runtime) -> list[Route]:
    backend = rt.backend

    async def put_chunk(request: Request) -> Response:
        query = request.query_params
        limit = backend.config.max_final_chunk_bytes + DISCARD_MARGIN
        try:
            publish = backend.upload_target(query.get("upload_id"), query.get("upload_token"))
        except UploadRefused as exc:
            return await refuse(request, limit, exc.status, exc.message)
        if publish.publish_id in rt.uploading:
            return await refuse(
                request,
                limit,
                416,
                "Another chunk of this upload is being received; send chunks one at a time.",
                {"Content-Range": backend.progress_header(publish)},
            )
        try:
            plan = backend.expect_chunk(
                publish,
                request.headers.get("content-type"),
                request.headers.get("content-range"),
                request.headers.get("content-length"),
            )
        except UploadRefused as exc:
            return await refuse(
                request,
                limit,
                exc.status,
                exc.message,
                {"Content-Range": backend.progress_header(publish)},
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
                    headers = {"Content-Range": backend.progress_header(publish)}
                    if received > plan.length:
                        # Only a chunked body can run past its Content-Length; the rest of it
                        # stays unread, so the connection cannot carry another request.
                        headers["Connection"] = "close"
                    return Response(
                        "The body does not match Content-Length.",
                        status_code=400,
                        media_type="text/plain",
                        headers=headers,
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
        flagged = rt.compliance.upload_finished(publish)  # strict: a 400 with the verdict
        if flagged is not None:
            rt.kick()
            return flagged
        await judge(backend, publish)
        rt.kick()
        return Response(status_code=201, headers=headers)

    return [Route("/upload/video/", put_chunk, methods=["PUT"])]
