"""The control plane under ``/_emulator/``: seed, steer and read back the emulated TikTok.

Documented in docs/emulator.md; the app's tests and ``make run`` rely on it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .errors import ControlError
from .http_helpers import read_control_json
from .responses import json_response
from .runtime import Runtime
from .webhooks import send_test


def routes(rt: Runtime) -> list[Route]:
    backend = rt.backend

    async def reset(request: Request) -> Response:
        rt.reset()
        return json_response({"reset": True, "now": backend.now()})

    async def apps(request: Request) -> Response:
        app = backend.register_app(await read_control_json(request))
        return json_response(app.public_view(), 201)

    async def creators(request: Request) -> Response:
        creator = backend.upsert_creator(await read_control_json(request))
        return json_response(creator.view(), 201)

    async def tokens(request: Request) -> Response:
        token = backend.control_issue_tokens(await read_control_json(request))
        return json_response({**backend.token_payload(token), "client_key": token.client_key}, 201)

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            backend.faults.clear()
            backend.release_held_webhooks()  # events a reorder fault still held go out now
            rt.kick()
            return json_response({"faults": []})
        fault = backend.add_fault(await read_control_json(request))
        return json_response(fault.view(), 201)

    async def clock(request: Request) -> Response:
        body = await read_control_json(request)
        seconds = body.get("advance_s", 0)
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise ControlError("advance_s must be a number of seconds >= 0")
        now = backend.clock.advance(float(seconds))
        backend.tick()
        rt.kick()
        return json_response({"now": now, "offset_s": backend.clock.offset})

    async def progression(request: Request) -> Response:
        prog = backend.set_progression(await read_control_json(request))
        return json_response(prog.as_dict())

    async def config(request: Request) -> Response:
        if request.method == "GET":
            return json_response(backend.config.as_dict())
        cfg = backend.patch_config(await read_control_json(request))
        return json_response(cfg.as_dict())

    async def post_draft(request: Request) -> Response:
        body = await read_control_json(request)
        post = backend.creator_posts_draft(request.path_params["publish_id"], body)
        rt.kick()
        return json_response(post.view(), 201)

    async def post_privacy(request: Request) -> Response:
        body = await read_control_json(request)
        post = backend.set_post_privacy(
            request.path_params["post_id"], str(body.get("privacy_level", ""))
        )
        rt.kick()
        return json_response(post.view())

    async def deauthorize(request: Request) -> Response:
        body = await read_control_json(request)
        app = backend._app_or_404(body.get("client_key"))
        creator = backend._creator_or_404(request.path_params["open_id"])
        reason = body.get("reason", 1)
        if not isinstance(reason, int) or not 0 <= reason <= 5:
            raise ControlError("reason must be an integer 0-5 (spec §6.3)")
        revoked = backend.remove_authorization(app, creator.open_id, reason=reason)
        rt.kick()
        return json_response({"revoked_tokens": revoked})

    async def requests(request: Request) -> Response:
        """The app requests that arrived at or after `since` (epoch seconds), oldest first."""
        try:
            since = float(request.query_params.get("since", "0"))
        except ValueError:
            raise ControlError("since must be a number of seconds since the epoch") from None
        return json_response(
            {
                "requests": [
                    {"at": at, "method": method, "path": path}
                    for at, method, path in list(rt.requests)
                    if at >= since
                ]
            }
        )

    async def webhook_test(request: Request) -> Response:
        """The developer portal's "Test URL → Send": one signed event, its answer returned."""
        delivery = backend.test_delivery(await read_control_json(request))
        return json_response((await send_test(backend, delivery)).view())

    async def compliance(request: Request) -> Response:
        """The compliance log (emulator/compliance.py); DELETE forgets its entries."""
        if request.method == "DELETE":
            rt.compliance.clear()
            return json_response({"cleared": True})
        query = request.query_params
        only = query.get("verdicts_only", "0").lower()
        if only not in ("0", "1", "true", "false", ""):
            raise ControlError("verdicts_only must be 1/true or 0/false")
        return json_response(
            rt.compliance.view(
                verdicts_only=only in ("1", "true"),
                client_key=query.get("client_key"),
                open_id=query.get("open_id"),
            )
        )

    async def health(request: Request) -> Response:
        """Alive (no work done): the Docker HEALTHCHECK; record and replay answer it too."""
        return json_response({"ok": True, "mode": "emulate"})

    async def state(request: Request) -> Response:
        snapshot = backend.state()
        rt.kick()
        return json_response(snapshot)

    return [
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/apps", apps, methods=["POST"]),
        Route("/_emulator/creators", creators, methods=["POST"]),
        Route("/_emulator/tokens", tokens, methods=["POST"]),
        Route("/_emulator/faults", faults, methods=["POST", "DELETE"]),
        Route("/_emulator/clock", clock, methods=["POST"]),
        Route("/_emulator/progression", progression, methods=["POST"]),
        Route("/_emulator/config", config, methods=["GET", "POST"]),
        Route("/_emulator/publishes/{publish_id}/post", post_draft, methods=["POST"]),
        Route("/_emulator/posts/{post_id}/privacy", post_privacy, methods=["POST"]),
        Route("/_emulator/creators/{open_id}/deauthorize", deauthorize, methods=["POST"]),
        Route("/_emulator/webhooks/test", webhook_test, methods=["POST"]),
        Route("/_emulator/compliance", compliance, methods=["GET", "DELETE"]),
        Route("/_emulator/state", state, methods=["GET"]),
        Route("/_emulator/requests", requests, methods=["GET"]),
        Route("/_emulator/health", health, methods=["GET"]),
    ]
