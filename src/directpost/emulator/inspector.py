"""Inspector pages: each creator's profile as TikTok would show it, so a person sees what landed."""

from __future__ import annotations

import io
import time
from functools import lru_cache

from PIL import Image, ImageDraw
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from .compliance_checks import RULES
from .runtime import Runtime

#: The compliance page shows this many of the latest entries (the JSON has them all).
COMPLIANCE_PAGE_ROWS = 500

PRIVACY_TEXT = {
    "PUBLIC_TO_EVERYONE": "Everyone",
    "MUTUAL_FOLLOW_FRIENDS": "Friends",
    "FOLLOWER_OF_CREATOR": "Followers",
    "SELF_ONLY": "Only me",
}


@lru_cache(maxsize=256)
def avatar_png(color: str, letter: str, size: int) -> bytes:
    """A small round avatar with the creator's initial, drawn by the emulator itself."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    try:
        draw.ellipse((0, 0, size - 1, size - 1), fill=color)
    except ValueError:
        draw.ellipse((0, 0, size - 1, size - 1), fill="#888888")
    draw.text((size * 0.42, size * 0.4), letter, fill="white")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def routes(rt: Runtime) -> list[Route]:
    backend = rt.backend

    def render(name: str, status: int = 200, **context: object) -> HTMLResponse:
        return HTMLResponse(rt.templates.get_template(name).render(**context), status_code=status)

    async def index(request: Request) -> Response:
        backend.state()
        return render(
            "index.html",
            apps=list(backend.apps.values()),
            creators=list(backend.creators.values()),
            publishes=list(backend.publishes.values())[-50:],
        )

    async def creator_page(request: Request) -> Response:
        open_id = request.path_params["open_id"]
        creator = backend.creators.get(open_id)
        if creator is None:
            return render("error.html", 404, message=f"No creator with open_id {open_id}.")
        backend.state()  # apply due transitions first
        posts = [p for p in reversed(backend.posts) if p.open_id == open_id]
        return render(
            "creator.html",
            creator=creator,
            posts=posts,
            publishes=backend.publishes,
            privacy_text=PRIVACY_TEXT,
        )

    async def avatar(request: Request) -> Response:
        creator = backend.creators.get(request.path_params["open_id"])
        if creator is None:
            return Response("no such creator", status_code=404, media_type="text/plain")
        try:
            size = min(max(int(request.query_params.get("size", "100")), 16), 720)
        except ValueError:
            size = 100
        png = avatar_png(creator.avatar_color, (creator.nickname[:1] or "?").upper(), size)
        return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=7200"})

    async def media(request: Request) -> Response:
        publish = backend.publishes.get(request.path_params["publish_id"])
        index = int(request.path_params["index"])
        if publish is None or not 0 <= index < len(publish.media_paths):
            return Response("no such media", status_code=404, media_type="text/plain")
        path = publish.media_paths[index]
        if not path.exists():
            return Response("no such media", status_code=404, media_type="text/plain")
        kind = "application/octet-stream"
        if publish.media_type == "VIDEO":
            container = (publish.probe or {}).get("container", "mp4")
            kind = {"webm": "video/webm", "mov": "video/quicktime"}.get(container, "video/mp4")
        else:
            images = (publish.probe or {}).get("images", [])
            fmt = images[index]["format"] if index < len(images) else "JPEG"
            kind = "image/webp" if fmt == "WEBP" else "image/jpeg"
        return FileResponse(path, media_type=kind)

    async def compliance_page(request: Request) -> Response:
        """The compliance log, newest first (``?verdicts_only=1`` hides clean requests)."""
        only = request.query_params.get("verdicts_only", "") in ("1", "true")
        view = rt.compliance.view(verdicts_only=only)
        entries = view["entries"][::-1][:COMPLIANCE_PAGE_ROWS]
        for entry in entries:
            entry["time"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(entry["at"]))
        return render(
            "compliance.html",
            view=view,
            entries=entries,
            shown_max=COMPLIANCE_PAGE_ROWS,
            verdicts_only=only,
            rules=RULES,
        )

    return [
        Route("/_emulator/", index, methods=["GET"]),
        Route("/_emulator/compliance.html", compliance_page, methods=["GET"]),
        Route("/_emulator/creators/{open_id}", creator_page, methods=["GET"]),
        Route("/_emulator/avatars/{open_id}.png", avatar, methods=["GET"]),
        Route("/_emulator/media/{publish_id}/{index:int}", media, methods=["GET"]),
    ]
