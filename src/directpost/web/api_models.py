"""The JSON shapes of the prepared-posts API (`/api/v1`, docs/api.md): bodies it reads and
answers it gives. The OpenAPI document at `/api/v1/openapi.json` is built from these."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from directpost.web.api_contract import ApiErrorBody, PostStatus, UploadOut
from directpost.web.routes.uploads import AnnouncedFile

_NO_NUL = r"^[^\x00]*$"


class Me(BaseModel):
    """Who the token belongs to and what it may do."""

    person_id: int
    token_name: str
    scopes: list[str]


class AccountOut(BaseModel):
    """A TikTok account the caller may prepare posts for."""

    id: int
    nickname: str
    avatar_url: str
    role: Literal["owner", "member"] = Field(
        description="owner: the caller's own account; member: granted by its owner"
    )


class AccountList(BaseModel):
    accounts: list[AccountOut]


class CreatorInfoOut(BaseModel):
    """TikTok's creator_info for the account now: the options the creator will choose from on
    the Post page. A suggestion outside them is shown to the creator, never applied."""

    nickname: str
    username: str
    privacy_level_options: list[str]
    comment_disabled: bool
    duet_disabled: bool
    stitch_disabled: bool
    max_video_post_duration_sec: int
    can_post_now: bool
    blocked_code: str | None = None


class NewApiUpload(BaseModel):
    """Announce the media of a prepared post: one video, or 1 to 35 photos."""

    model_config = ConfigDict(extra="forbid")

    account_id: int = Field(ge=1, le=2**31 - 1, description="From GET /api/v1/accounts")
    kind: Literal["video", "photos"]
    files: list[AnnouncedFile] = Field(min_length=1, max_length=35)


class PrepareBody(BaseModel):
    """A post to prepare. Nothing here publishes: the creator confirms it on the Post page."""

    model_config = ConfigDict(extra="forbid")

    account_id: int = Field(ge=1, le=2**31 - 1)
    upload_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")
    title: str = Field(default="", max_length=4000, pattern=_NO_NUL, description="caption")
    description: str = Field(default="", max_length=8000, pattern=_NO_NUL)
    privacy_suggestion: str = Field(
        default="",
        max_length=40,
        pattern=_NO_NUL,
        description="PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, FOLLOWER_OF_CREATOR, SELF_ONLY: "
        "shown to the creator as text; the creator chooses",
    )
    schedule_at: str = Field(
        default="",
        max_length=64,
        pattern=_NO_NUL,
        description="ISO 8601 time (with an offset, or in time_zone); empty: no suggestion",
    )
    time_zone: str = Field(default="UTC", max_length=64, pattern=_NO_NUL)
    note: str = Field(default="", max_length=4000, pattern=_NO_NUL, description="to the creator")


class PreparedOut(BaseModel):
    """A prepared post, as its preparer and the account's owner see it."""

    id: int
    account_id: int
    state: Literal["to_review", "confirmed", "rejected", "withdrawn", "expired"]
    kind: str
    title: str
    description: str
    privacy_suggestion: str
    schedule_suggestion: str | None
    time_zone: str
    note: str
    prepared_by: str
    reason: str = Field(description="The creator's reason, when rejected")
    upload_id: str | None
    created_at: str
    decided_at: str | None
    review_url: str = Field(description="Where the account's owner reviews it in the app")
    post: PostStatus | None = Field(description="The post made from it, once confirmed")


class PreparedList(BaseModel):
    prepared_posts: list[PreparedOut]
    next_before: int | None = Field(description="Pass as ?before= for the next page")


class ApiPostList(BaseModel):
    posts: list[PostStatus]


API_MODELS = (ApiErrorBody, Me, AccountList, CreatorInfoOut, PreparedOut, PreparedList, UploadOut)
