"""Tracking a publish TikTok holds: one status/fetch inside the 30/min budget (the fallback for a
missed webhook), a cancel while TikTok still downloads the media, and the answer applied by the
same `lifecycle.apply_answer` the webhooks use.

Follows https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from directpost import tiktok
from directpost.publishing import lifecycle, outcomes, states
from directpost.publishing.context import (
    Finish,
    PublishContext,
    Reschedule,
    Timing,
    backoff,
    must_get,
    settle,
    spend,
)
from directpost.publishing.start import access_token
from directpost.store import accounts

log = logging.getLogger(__name__)


async def track(ctx: PublishContext, post_id: int) -> None:
    """One look at the publish's status, then what it says applied to the post."""
    with ctx.factory() as session:
        post = must_get(session, post_id)
        publish_id = post.publish_id
        open_id = post.open_id
        account_id = post.account_id
        cancel = post.cancel_requested
        polls = post.polls
        pull = any(
            a.source == "PULL_FROM_URL" for a in post.attempts if a.state == states.CONFIRMED
        )
        account = session.get(accounts.TikTokAccount, account_id)
        if account is None or not account.is_connected:
            raise Finish(outcomes.DISCONNECTED, code="account_disconnected")
    if publish_id is None:
        raise Finish(outcomes.UNKNOWN_FAILURE, code="no_publish_id")
    async with ctx.client() as client:
        token = await access_token(ctx, client, account_id)
        ticket = await spend(ctx, open_id, "status")
        try:
            # https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status
            status = await client.fetch_status(access_token=token, publish_id=publish_id)
        except (tiktok.TransportError, tiktok.ServerError, tiktok.RateLimitedError) as exc:
            # Keep tracking: the publish exists; a new init would risk a duplicate.
            raise Reschedule(backoff(ctx.timing.poll_base_s, ctx.timing.poll_max_s, polls)) from exc
        except tiktok.APIError as exc:
            raise Finish(outcomes.UNKNOWN_FAILURE, code=exc.code, log_id=exc.log_id) from exc
        finally:
            settle(ctx, ticket)
        if cancel and pull and status.status == "PROCESSING_DOWNLOAD":
            try:
                # https://developers.tiktok.com/doc/content-posting-api-reference-cancel-post
                await client.cancel(access_token=token, publish_id=publish_id)
            except tiktok.NotCancellableError:
                pass
            except (tiktok.TransportError, tiktok.ServerError) as exc:
                log.info("cancel of post %s did not get through (%s); will retry", post_id, exc)
    apply_status(ctx.factory, post_id=post_id, status=status, now=ctx.clock(), timing=ctx.timing)


def apply_status(
    factory: sessionmaker[Session],
    *,
    post_id: int,
    status: tiktok.PublishStatus,
    now: datetime,
    timing: Timing,
) -> None:
    """Apply what status/fetch said; while TikTok still works on it, look again later."""
    with factory() as session, session.begin():
        post = must_get(session, post_id)
        lifecycle.apply_answer(post, lifecycle.answer_from_status(status), now=now)
        if post.state in (states.PUBLISHING, states.PROCESSING):
            post.polls += 1
            post.due_at = now + timedelta(
                seconds=backoff(timing.poll_base_s, timing.poll_max_s, post.polls - 1)
            )
