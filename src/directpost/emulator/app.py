"""The emulator's ASGI app: one host for the consent page, the API, the upload host and control."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from . import control, inspector, oauth, posting, upload_host
from .compliance import ComplianceMiddleware
from .config import EmulatorConfig
from .errors import ApiError, ControlError, OAuthError
from .faults import FaultMiddleware, hide_injected_drops_from_server_logs
from .responses import api_error, json_response, oauth_error
from .runtime import Runtime


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    """A fresh emulator with its own world; ``app.state.runtime.backend`` is its state."""
    rt = Runtime(config)
    backend = rt.backend
    hide_injected_drops_from_server_logs()

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return api_error(exc, now=backend.now())

    async def on_oauth_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, OAuthError)
        return oauth_error(exc, status=backend.config.oauth_error_status, now=backend.now())

    async def on_control_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ControlError)
        if request.url.path.startswith("/v2/auth/"):
            html = rt.templates.get_template("error.html").render(message=exc.message)
            return HTMLResponse(html, status_code=exc.status)
        return json_response({"error": exc.message}, exc.status)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        rt.ensure_ticker()
        yield
        await rt.aclose()

    app = Starlette(
        routes=[
            *oauth.routes(rt),
            *posting.routes(rt),
            *upload_host.routes(rt),
            *control.routes(rt),
            *inspector.routes(rt),
        ],
        # The compliance log is outermost, so requests answered by an injected fault are logged.
        middleware=[
            Middleware(ComplianceMiddleware, runtime=rt),
            Middleware(FaultMiddleware, runtime=rt),
        ],
        exception_handlers={
            ApiError: on_api_error,
            OAuthError: on_oauth_error,
            ControlError: on_control_error,
        },
        lifespan=lifespan,
    )
    app.state.runtime = rt
    return app
