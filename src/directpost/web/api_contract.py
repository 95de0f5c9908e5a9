"""The app's contract as an OpenAPI 3 document, served at `/openapi.json` (issue 15, item 10).

Who may read it: anyone in demo mode (the app talks to an emulator, so nothing real is behind
it); otherwise only the signed-in operator (the operator page's session, or `Authorization:
Bearer <operator token>`). Anyone else gets the plain 404 of an unknown address: a production
site does not advertise its routes. There is no Swagger or Redoc page: both load their scripts
from a CDN, which the Content-Security-Policy forbids.

Routes describe what they answer with the sets below (`answers(...)`), so the document says
every status a route really gives, in both of the shapes the app speaks: JSON for scripts, HTML
for browsers (the same handler picks by the `Accept` header). The fuzz suite
(tests/web/test_openapi_fuzz.py) holds the document to it: an undocumented status, a body that
does not match its schema, or a 500 fails it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from directpost import __version__
from directpost.config import Settings
from directpost.web.sessions import ensure_loaded

OPENAPI_PATH = "/openapi.json"
_REF = "#/components/schemas/{model}"


# --- the JSON shapes the app answers with -------------------------------------------------


class Problem(BaseModel):
    """A refusal or error in plain words (every JSON error the app-wide handlers give)."""

    detail: str


class FieldProblem(BaseModel):
    """Where a request was malformed and how (never the value sent)."""

    loc: list[str | int]
    msg: str
    type: str


class InvalidRequest(BaseModel):
    """A request whose parameters or body do not have the documented form."""

    detail: list[FieldProblem]


class UploadedFile(BaseModel):
    """One announced file of an upload, and how much of it has arrived."""

    id: str
    name: str
    size: int
    received: int
    problems: list[str]
    url: str


class UploadOut(BaseModel):
    """An upload as its owner sees it (no storage keys)."""

    id: str
    kind: str
    state: str
    problems: list[str]
    files: list[UploadedFile]


class UploadProblem(BaseModel):
    """The uploads API's refusal: the sentence, and what helps to continue."""

    error: str
    problems: list[str] | None = None
    received: int | None = None
    upload: UploadOut | None = None


class ChunkReceived(BaseModel):
    """Bytes of the file held after a chunk, out of its announced size."""

    received: int
    size: int


class PostStatus(BaseModel):
    """A post's live status (post ids are strings: 19 digits do not survive a float)."""

    id: int
    state: str
    state_label: str
    final: bool
    reason: str
    log_id: str
    post_ids: list[str]
    links: list[str]
    cancellable: bool
    editable: bool
    #: Published to everyone; the link comes once TikTok makes the post public.
    link_pending: bool = False


class PostCreated(PostStatus):
    """A post just queued, and the page that follows it."""

    url: str


class PostList(BaseModel):
    """The signed-in person's posts, newest first."""

    posts: list[PostStatus]


class RuleBroken(BaseModel):
    """One rule a post breaks, with its id (requirements.md) and the field concerned."""

    rule: str
    field: str | None = None
    message: str


class Refusal(BaseModel):
    """Why nothing was published or changed; the upload and the choices are kept."""

    detail: list[str]
    violations: list[RuleBroken]


class WebhookAck(BaseModel):
    """A verified TikTok event, applied (or recognised as a duplicate)."""

    ok: bool
    duplicate: bool


class Alive(BaseModel):
    """The process answers."""

    status: str


class Check(BaseModel):
    """One dependency's check."""

    status: str = Field(description='"ok", or what failed')
    message: str
    fix: str | None = Field(default=None, description="What to check, when it failed")


class Readiness(BaseModel):
    """Each dependency's check; 503 when one fails."""

    status: str
    checks: dict[str, Check]


class Export(BaseModel):
    """Everything stored about the person (DG-5), table by table."""

    directpost_export: int
    data: dict[str, Any] = Field(description="Rows by table, without secrets.")


class ErrorDetail(BaseModel):
    code: str = Field(description="A stable word: missing_token, invalid_token, not_found, …")
    message: str = Field(description="What went wrong and what to do, in a sentence.")
    problems: list[str] | None = None
    received: int | None = None


class ApiErrorBody(BaseModel):
    """Every refusal of the prepared-posts API (`/api/v1`)."""

    error: ErrorDetail


_MODELS: tuple[type[BaseModel], ...] = (
    ApiErrorBody,
    Problem,
    InvalidRequest,
    UploadOut,
    UploadProblem,
    ChunkReceived,
    PostStatus,
    PostCreated,
    PostList,
    Refusal,
    WebhookAck,
    Alive,
    Readiness,
    Export,
)


def ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": _REF.format(model=model.__name__)}


# --- response sets -------------------------------------------------------------------------

Responses = dict[int | str, dict[str, Any]]

_HTML = {"text/html": {"schema": {"type": "string"}}}


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": ref(model)}}


def page(description: str) -> dict[str, Any]:
    """An answer that is always an HTML page."""
    return {"description": description, "content": dict(_HTML)}


def either(description: str, model: type[BaseModel] = Problem) -> dict[str, Any]:
    """An answer in JSON (`model`) or as an HTML page, as the request's `Accept` asks."""
    return {"description": description, "content": {**_json(model), **_HTML}}


def json_only(description: str, model: type[BaseModel]) -> dict[str, Any]:
    return {"description": description, "content": _json(model)}


def redirect(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"Location": {"schema": {"type": "string"}, "description": "Where to go."}},
    }


def answers(*sets: Mapping[int | str, dict[str, Any]]) -> Responses:
    """The sets merged; two answers for one status keep both descriptions and media types."""
    merged: Responses = {}
    for one in sets:
        for status, answer in one.items():
            if status not in merged:
                merged[status] = {**answer, "content": dict(answer.get("content", {}))}
                continue
            known = merged[status]
            if answer["description"] not in known["description"]:
                known["description"] += "; " + answer["description"]
            for media, body in answer.get("content", {}).items():
                present = known["content"].get(media)
                if present is None:
                    known["content"][media] = body
                elif present != body:
                    options = present["schema"].get("anyOf", [present["schema"]])
                    if body["schema"] not in options:
                        options = [*options, body["schema"]]
                    known["content"][media] = {"schema": {"anyOf": options}}
    for answer in merged.values():
        if not answer["content"]:
            del answer["content"]
    return merged


#: Any route that reads the database: an id or character it cannot store (400), or the
#: database does not answer (503).
DATABASE: Responses = {
    400: either("A value in the request cannot be stored (an id too large, a NUL character)."),
    503: either("The database does not answer; nothing was changed. Try again shortly."),
}
#: A route with parameters or a body FastAPI validates.
INVALID: Responses = {422: either("The request is malformed.", InvalidRequest)}
#: A route for signed-in people: a browser (GET) is sent to sign in, a script gets 401.
SIGNED_IN: Responses = {
    303: redirect("Not signed in: to the home page to sign in."),
    401: either("Not signed in."),
}
#: The same for a state-changing request: never a redirect.
SIGNED_IN_CHANGE: Responses = {401: either("Not signed in.")}
#: A route that posts with a connected account: a browser is sent to the Accounts page.
ACCOUNT: Responses = {
    303: redirect("No connected TikTok account: to the Accounts page."),
    409: either("No connected TikTok account."),
}
ACCOUNT_CHANGE: Responses = {409: either("No connected TikTok account.")}
#: A state-changing request: it must carry the session's CSRF token (403); an ended session
#: (signed out, timed out, locked down) is 401.
CHANGE: Responses = {
    401: either("The session has ended; sign in again."),
    403: either("The CSRF token is missing or wrong; nothing was changed."),
}
#: A route that needs TikTok: the operator's lockdown (TOS-2) answers 503.
TIKTOK: Responses = {503: either("Traffic to TikTok is paused, or TikTok did not answer.")}
NOT_FOUND: Responses = {404: either("Not found (or not yours: it looks the same).")}


_BYTES = {"schema": {"type": "string", "format": "binary"}}
_SAY = {"text/plain": {"schema": {"type": "string"}}}
#: Media served byte-exact with Range support (`media.serving`).
MEDIA_BYTES: Responses = {
    200: {
        "description": "The file.",
        "content": {"video/*": _BYTES, "image/*": _BYTES, "application/octet-stream": _BYTES},
    },
    206: {
        "description": "The range asked for.",
        "content": {"video/*": _BYTES, "image/*": _BYTES, "application/octet-stream": _BYTES},
    },
    304: {"description": "Not modified (If-None-Match)."},
    404: {"description": "No such media.", "content": dict(_SAY)},
    416: {"description": "The range is outside the file.", "content": dict(_SAY)},
}


def html_route(*sets: Mapping[int | str, dict[str, Any]]) -> Responses:
    """A page for signed-in people (GET): 200 HTML, plus `sets`."""
    return answers({200: page("The page.")}, *sets)


# --- request bodies the routes read themselves (so FastAPI cannot see them) ---------------

#: TikTok's event, verified over its raw bytes (`TikTok-Signature`).
WEBHOOK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    "parameters": [
        {
            "name": "TikTok-Signature",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": "t=<unix time>,s=<HMAC-SHA256 of the body>",
        }
    ],
}


def form_body(**fields: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` for a route that reads an HTML form itself (`request.form()`)."""
    properties = {"csrf_token": {"type": "string"}, **fields}
    return {
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "properties": properties}
                }
            }
        }
    }


_TEXT: dict[str, Any] = {"type": "string"}
#: The Post page's form (`web.compose_form.FORM_FIELDS` and the schedule field).
POST_FORM = form_body(
    upload_id=_TEXT,
    title=_TEXT,
    description=_TEXT,
    privacy_level=_TEXT,
    allow_comment=_TEXT,
    allow_duet=_TEXT,
    allow_stitch=_TEXT,
    disclose_commercial=_TEXT,
    your_brand=_TEXT,
    branded_content=_TEXT,
    is_aigc=_TEXT,
    mode={"type": "string", "enum": ["direct", "inbox"]},
    cover_timestamp_ms=_TEXT,
    photo_cover_index=_TEXT,
    scheduled_at={"type": "string", "description": "YYYY-MM-DDTHH:MM, empty to post now"},
    time_zone={"type": "string", "description": "An IANA zone, e.g. Europe/Paris"},
)
#: Raw bytes of one chunk (`PUT /uploads/{id}/files/{file_id}?offset=N`).
CHUNK_BODY: dict[str, Any] = {
    "requestBody": {
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    }
}
SCHEDULE_FORM = form_body(
    scheduled_at=_TEXT,
    time_zone=_TEXT,
    back={"type": "string", "description": "Optional: a /calendar address to return to"},
)
#: A plain form with the CSRF token only.
TOKEN_FORM = form_body()


# --- the document --------------------------------------------------------------------------


def contract_document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of `app` (built once), with the shared JSON shapes as components."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title="directpost",
        version=__version__,
        description=(
            "Post your own videos and photos to TikTok. Pages answer HTML to browsers and JSON "
            "to scripts (`Accept: application/json`); every state-changing request carries the "
            "session's CSRF token in `X-CSRF-Token` or the `csrf_token` form field."
        ),
        routes=app.routes,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in _MODELS:
        schema = model.model_json_schema(ref_template=_REF)
        for name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        schemas.setdefault(model.__name__, schema)
    app.openapi_schema = document
    return document


API_PREFIX = "/api/v1"


def api_document(app: FastAPI) -> dict[str, Any]:
    """The prepared-posts API's own document (`/api/v1/openapi.json`, public: it describes
    routes any token holder may call), with the bearer token as its security scheme."""
    cached: dict[str, Any] | None = getattr(app.state, "api_openapi", None)
    if cached is not None:
        return cached
    document = get_openapi(
        title="directpost prepared-posts API",
        version=__version__,
        description=(
            "Prepare posts for a creator to review and confirm in the app (docs/api.md). "
            "Nothing here publishes: the creator confirms on the Post page. Authenticate with "
            "a personal access token: `Authorization: Bearer dpat_…`."
        ),
        routes=app.routes,
    )
    document["paths"] = {
        path: item for path, item in document["paths"].items() if path.startswith(API_PREFIX + "/")
    }
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal access token (Accounts page → API tokens).",
    }
    schemas = components.setdefault("schemas", {})
    schema = ApiErrorBody.model_json_schema(ref_template=_REF)
    for name, definition in schema.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas.setdefault("ApiErrorBody", schema)
    components["schemas"] = _referenced(document["paths"], schemas)
    document["security"] = [{"bearer": []}]
    app.state.api_openapi = document
    return document


def _referenced(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """The schemas `paths` use, directly or through other schemas (the pages' are left out)."""
    prefix = _REF.format(model="")
    kept: dict[str, Any] = {}
    pending: list[Any] = [paths]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix):
                name = ref[len(prefix) :]
                if name not in kept and name in schemas:
                    kept[name] = schemas[name]
                    pending.append(schemas[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return dict(sorted(kept.items()))


def serve_contract(app: FastAPI, *, is_operator: Callable[[Request, Settings], bool]) -> None:
    """Add `GET /openapi.json` (itself left out of the document) and the API's own
    `GET /api/v1/openapi.json`; `is_operator` tells whether
    a request comes from the signed-in operator (`routes.operator`)."""

    @app.get(API_PREFIX + OPENAPI_PATH, include_in_schema=False)
    async def api_contract(request: Request) -> JSONResponse:
        # Public: it describes what any token holder may call, nothing of the pages.
        return JSONResponse(api_document(request.app))

    @app.get(OPENAPI_PATH, include_in_schema=False)
    async def openapi_document(request: Request) -> JSONResponse:
        settings = request.app.state.services.settings
        if not settings.uses_emulator:
            await ensure_loaded(request)  # the operator's proof is in the session (a thread)
            if not is_operator(request, settings):
                raise HTTPException(status_code=404)
        return JSONResponse(contract_document(request.app))
