"""The MCP server's tools: what an AI agent may do with a directpost token, in words it reads.

An agent reads each tool's name, description and parameter descriptions to decide what to call,
so they say plainly what the tool does, what to pass, and what happens next: the creator reviews
and confirms every prepared post in the app, and no tool publishes anything (UX-5c; the API has
no route that could). The tools are thin: one or a few API calls each (`app_api`), with the
API's refusal handed back as the tool's error, in the API's own words.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Final, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from directpost import __version__
from directpost.agent.app_api import ApiRefused, AppApi, AppUnreachable
from directpost.agent.media_upload import MediaRefused, upload_file

#: Said by every tool, so an agent never promises a creator that something went live.
CREATOR_CONFIRMS: Final = (
    "Nothing is published by this tool: the creator reviews each prepared post in the "
    "directpost app (at its review_url), chooses who can see it, and confirms it there."
)

INSTRUCTIONS: Final = (
    "directpost prepares TikTok posts for a creator to review; it cannot publish. The usual "
    "order: list_accounts, get_posting_options (which privacy levels the creator can choose), "
    "upload_media (a local video or photo), prepare_post (caption and suggestions), then give "
    "the creator the review_url. The creator opens it in the directpost app, chooses privacy and "
    "interactions, consents and publishes, or rejects with a reason. Follow the outcome with "
    "get_prepared_post and get_post_status. Never tell the creator a post is live before "
    "get_post_status says so."
)

NEXT_STEP: Final = (
    "Give the creator the review_url: they open it in the directpost app, choose who can see "
    "the post, and confirm or reject it. Nothing is published until they do."
)

PrivacyLevel = Literal[
    "PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"
]
PreparedState = Literal["to_review", "confirmed", "rejected", "withdrawn"]

AccountId = Annotated[
    int, Field(ge=1, le=2**31 - 1, description="An account id from list_accounts.")
]
PreparedId = Annotated[
    int,
    Field(ge=1, le=2**31 - 1, description="A prepared post's id (from prepare_post or a list)."),
]

_READS = ToolAnnotations(read_only_hint=True, open_world_hint=False)


def _described(*sentences: str) -> str:
    return " ".join((*sentences, CREATOR_CONFIRMS))


@contextmanager
def _as_tool_error() -> Iterator[None]:
    """The API's refusal, an unreachable app or a local file problem as the tool's error: one
    line the agent can act on, never a traceback."""
    try:
        yield
    except ApiRefused as refused:
        wait = f" Retry after {refused.retry_after:.0f} s." if refused.retry_after else ""
        raise ToolError(
            f"{refused.message}{wait} (HTTP {refused.status}, {refused.code})"
        ) from None
    except (AppUnreachable, MediaRefused) as exc:
        raise ToolError(str(exc)) from None


def idempotency_key_for(body: dict[str, Any]) -> str:
    """A key derived from the request itself: the same tool call, retried (by the agent or
    after a lost answer), is the same request to the app, which answers the first prepared
    post instead of making a second."""
    raw = json.dumps(body, sort_keys=True, ensure_ascii=False)
    return "mcp-" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:48]


def build_server(api: AppApi) -> MCPServer[Any]:
    """The MCP server with directpost's tools, each calling the app through `api`."""
    server: MCPServer[Any] = MCPServer(
        "directpost",
        title="directpost: prepare TikTok posts for the creator to confirm",
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
    )

    @server.tool(
        description=_described(
            "List the TikTok accounts this token may prepare posts for: the token owner's own "
            "(role 'owner') and those whose owners made them a team member (role 'member'). "
            "Use an account's id in the other tools."
        ),
        annotations=_READS,
    )
    async def list_accounts() -> dict[str, Any]:
        with _as_tool_error():
            answer: dict[str, Any] = await api.accounts()
        return answer

    @server.tool(
        description=_described(
            "Read what TikTok lets this account do now (its creator_info): the privacy levels "
            "the creator can choose from, whether comments, duets and stitches are turned off "
            "in their settings, the longest video they may post, and whether they can post at "
            "the moment (can_post_now). Use it to pick a privacy_suggestion for prepare_post "
            "that the creator will actually be offered."
        ),
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=True),
    )
    async def get_posting_options(account_id: AccountId) -> dict[str, Any]:
        with _as_tool_error():
            answer: dict[str, Any] = await api.creator_info(account_id)
        return answer

    @server.tool(
        description=_described(
            "Upload one media file from the machine this server runs on, for the account: a "
            "video (.mp4, .mov, .webm) or a photo (.jpg, .jpeg, .webp). It is sent in "
            "resumable chunks, then the app checks it against TikTok's limits. Returns the "
            "upload_id and the check: state 'ready' (pass upload_id to prepare_post) or "
            "'rejected' (problems say why; that file cannot be posted). The path must name a "
            "file, not a folder."
        ),
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False
        ),
    )
    async def upload_media(
        account_id: AccountId,
        path: Annotated[
            str,
            Field(
                min_length=1,
                max_length=4096,
                description="Path of the file on this machine (absolute, or relative to the "
                "server's working folder; ~ is expanded).",
            ),
        ],
        ctx: Context,
    ) -> dict[str, Any]:
        async def progress(sent: int, size: int) -> None:
            await ctx.report_progress(sent, size, f"{sent} of {size} bytes uploaded")

        with _as_tool_error():
            upload = await upload_file(api, account_id=account_id, raw_path=path, progress=progress)
        files = upload.get("files") or [{}]
        return {
            "upload_id": upload["id"],
            "kind": upload["kind"],
            "state": upload["state"],
            "problems": upload["problems"] + [p for f in files for p in f.get("problems", [])],
            "file": {"name": files[0].get("name"), "size": files[0].get("size")},
        }

    @server.tool(
        description=_described(
            "Prepare a post for the creator to review: a 'ready' upload plus a suggested "
            "caption, and optionally a description (photo posts), a privacy suggestion, a "
            "suggested time to publish and a note to the creator. It lands in the creator's "
            "'To review' list; the privacy suggestion is shown to them as text and is never "
            "chosen for them. Calling again with the same arguments returns the same prepared "
            "post (already_prepared: true) instead of making a second one. Returns the "
            "prepared post with its id and review_url; give the creator the review_url."
        ),
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=True
        ),
    )
    async def prepare_post(
        account_id: AccountId,
        upload_id: Annotated[
            str,
            Field(
                min_length=1,
                max_length=64,
                pattern=r"^[0-9a-f]+$",
                description="The upload_id of a 'ready' upload from upload_media.",
            ),
        ],
        caption: Annotated[
            str,
            Field(
                max_length=4000,
                description="The suggested caption (the post's title; hashtags and @mentions "
                "included). TikTok takes up to 2200 characters for a video, 90 for photos.",
            ),
        ],
        description: Annotated[
            str,
            Field(max_length=8000, description="Photo posts only: a longer description."),
        ] = "",
        privacy_suggestion: Annotated[
            PrivacyLevel | None,
            Field(
                description="Who you suggest can see it; the creator chooses (see "
                "get_posting_options for what they are offered)."
            ),
        ] = None,
        schedule_at: Annotated[
            str | None,
            Field(
                max_length=64,
                description="A suggested time to publish, ISO 8601 (2030-05-01T18:00, with an "
                "offset or in time_zone), at least 15 minutes and at most 60 days ahead. "
                "Leave out to suggest publishing when the creator confirms.",
            ),
        ] = None,
        time_zone: Annotated[
            str | None,
            Field(max_length=64, description="IANA time zone of schedule_at, e.g. Europe/Paris."),
        ] = None,
        note: Annotated[
            str | None,
            Field(max_length=2000, description="A note to the creator, shown beside the post."),
        ] = None,
        idempotency_key: Annotated[
            str | None,
            Field(
                min_length=1,
                max_length=200,
                description="Optional. One is derived from the arguments when left out, so a "
                "retried call never makes two prepared posts.",
            ),
        ] = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "account_id": account_id,
            "upload_id": upload_id,
            "title": caption,
            "description": description,
            "privacy_suggestion": privacy_suggestion or "",
            "schedule_at": schedule_at or "",
            "time_zone": time_zone or "UTC",
            "note": note or "",
        }
        key = idempotency_key or idempotency_key_for(body)
        with _as_tool_error():
            prepared, replayed = await api.prepare(body, idempotency_key=key)
        return {**prepared, "already_prepared": replayed, "next_step": NEXT_STEP}

    @server.tool(
        description=_described(
            "List the prepared posts this token may see, newest first (up to 100): for the "
            "token owner's own accounts all of them, for other accounts those this person "
            "prepared. Filter by state: to_review (waiting for the creator), confirmed (a post "
            "was made; see its post), rejected (reason says why) or withdrawn."
        ),
        annotations=_READS,
    )
    async def list_prepared_posts(
        state: Annotated[
            PreparedState | None, Field(description="Only prepared posts in this state.")
        ] = None,
        account_id: Annotated[
            int | None, Field(ge=1, le=2**31 - 1, description="Only this account's.")
        ] = None,
    ) -> dict[str, Any]:
        with _as_tool_error():
            answer: dict[str, Any] = await api.prepared_posts(
                state=state, account_id=account_id, limit=100
            )
        return answer

    @server.tool(
        description=_described(
            "Read one prepared post: its state (to_review, confirmed, rejected with the "
            "creator's reason, withdrawn), what was suggested, its review_url, and once the "
            "creator confirmed it, the post made from it (post.id for get_post_status)."
        ),
        annotations=_READS,
    )
    async def get_prepared_post(prepared_id: PreparedId) -> dict[str, Any]:
        with _as_tool_error():
            answer: dict[str, Any] = await api.prepared_post(prepared_id)
        return answer

    @server.tool(
        description=_described(
            "Withdraw a prepared post this person prepared, while it is still to review: it "
            "leaves the creator's list and its media is deleted. This cannot be undone; a "
            "confirmed or rejected one cannot be withdrawn."
        ),
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=False
        ),
    )
    async def withdraw_prepared_post(prepared_id: PreparedId) -> dict[str, Any]:
        with _as_tool_error():
            answer: dict[str, Any] = await api.withdraw(prepared_id)
        return answer

    @server.tool(
        description=_described(
            "Read the status of a post made when the creator confirmed a prepared post (its id "
            "is post.id in get_prepared_post): its state in words, whether that state is final, "
            "why it failed if it did, and TikTok's post ids and links once it is published."
        ),
        annotations=_READS,
    )
    async def get_post_status(
        post_id: Annotated[
            int, Field(ge=1, le=2**31 - 1, description="post.id of a confirmed prepared post.")
        ],
    ) -> dict[str, Any]:
        with _as_tool_error():
            answer: dict[str, Any] = await api.post(post_id)
        return answer

    return server
