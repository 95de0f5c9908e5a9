"""Starting a publish: under the creator's lease, a fresh token, the caps, fresh creator_info and
the stored choices checked again, the init, then the bytes when TikTok waits for them.

Every fact is written the moment it is learnt (architecture.md "No duplicate posts, no lost
posts"): the attempt (`init_sent`) before the init leaves; the `publish_id` before anything else
after it answers; an attempt found still `init_sent` is ambiguous and its media URL revoked
before any new attempt; once a `publish_id` is known, an upload failure is resumed, never
answered by a new init.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from directpost import rules, tiktok
from directpost.media.urls import new_media_token
from directpost.publishing import lifecycle, outcomes, states
from directpost.publishing.context import (
    Finish,
    PublishContext,
    Reschedule,
    Reservation,
    api_retry,
    committed,
    must_get,
    reserve_now,
    retry_delay,
    settle,
    spend,
)
from directpost.publishing.drafts import creator_facts, draft_from_choices
from directpost.publishing.gate import LockdownActive
from directpost.publishing.init_request import build_init, send_init, transfer_source
from directpost.publishing.policy import posting_policy
from directpost.publishing.tokens import fresh_access_token
from directpost.store import accounts
from directpost.store import posts as store


class RunEnded:
    """Set by a start whose run already ended in the transaction that started tracking."""

    def __init__(self, holder: str) -> None:
        self.holder = holder
        self.ended_in_state: str | None = None


async def access_token(
    ctx: PublishContext, client: tiktok.AsyncTikTokClient, account_id: int
) -> str:
    """A usable access token, refreshed under the account's lease when it expires soon."""

    async def refresh(refresh_token: str) -> tiktok.Token:
        # https://developers.tiktok.com/doc/oauth-user-access-token-management
        return await client.refresh_token(refresh_token=refresh_token)

    try:
        return await fresh_access_token(
            ctx.factory, account_id=account_id, cipher=ctx.cipher, refresh=refresh
        )
    except tiktok.OAuthError as exc:
        raise Finish(outcomes.DISCONNECTED, code="refresh_refused") from exc
    except (tiktok.TransportError, tiktok.ServerError, TimeoutError) as exc:
        raise Reschedule(retry_delay(ctx, post_tries=0), count_try=True) from exc


async def start(ctx: PublishContext, post_id: int, run: RunEnded) -> None:
    """Take the creator's lease and go as far as the post can now."""
    if ctx.media_check is not None and not await ctx.media_check.answering():
        # TikTok would pull from a service that does not answer and fail the post: wait for it
        # before anything is spent or sent (the answer is kept a moment: one question a burst).
        raise Reschedule(ctx.timing.media_down_retry_s, note=outcomes.MEDIA_SERVICE_DOWN)
    now = ctx.clock()
    with ctx.factory() as session, session.begin():
        post = store.post_to_start(session, post_id=post_id)
        if post is None:
            raise Finish(outcomes.UNKNOWN_FAILURE, code="missing")
        if post.cancel_requested:
            raise Finish(outcomes.CANCELLED_BY_CREATOR, code="cancelled")
        account = session.get(accounts.TikTokAccount, post.account_id)
        if account is None or not account.is_connected:
            raise Finish(outcomes.DISCONNECTED, code="account_disconnected")
        attempts = store.attempt_states(session, post_id=post_id)
        confirmed = next((i for i, state in attempts if state == states.CONFIRMED), None)
        if confirmed is None and any(state == states.INIT_SENT for _, state in attempts):
            # A lost answer from an earlier run: that init may exist at TikTok. Revoke its URL
            # first, so such a ghost can only fail (video_pull_failed), then try anew.
            store.mark_unanswered_ambiguous(session, post_id=post_id, now=now)
        # In the same transaction (it commits either way: the revocations above stand even
        # when another post holds the lease): take the creator's lease, then check the caps.
        leased = store.try_take_lease(
            session,
            account_id=post.account_id,
            post_id=post.id,
            holder=f"post-{post.id}",
            ttl=ctx.timing.lease_ttl,
            now=now,
        )
        caps: list[rules.Violation] = []
        policy = None
        init_budget = info_budget = None
        if leased:
            if post.state != states.PUBLISHING:
                store.mark_publishing(session, post_id=post_id, now=now)
            if confirmed is None:
                policy = posting_policy(session, ctx.settings, open_id=post.open_id, now=now)
                caps = rules.cap_violations(policy, "inbox" if post.mode == "inbox" else "direct")
            if confirmed is None and not caps:
                # Both budgets in this transaction when they are free now (the usual case),
                # the init's first: see below for why.
                init_budget = reserve_now(ctx, session, post.open_id, "init")
                if init_budget is not None:
                    info_budget = reserve_now(ctx, session, post.open_id, "creator_info")
        # Read while the row is at hand; None when it must be refreshed first (under a lock).
        known_token = accounts.usable_access_token(account, cipher=ctx.cipher, now=now)
    if not leased:
        raise Reschedule(ctx.timing.lease_busy_retry.total_seconds())
    if caps:
        raise Finish(
            outcomes.Outcome(states.TRY_LATER, caps[0].message),
            code=",".join(v.rule for v in caps),
        )

    async with ctx.client() as client:
        if confirmed is not None:
            await after_init(ctx, client, post_id, confirmed, post.account_id)
            return
        assert policy is not None
        token = known_token or await access_token(ctx, client, post.account_id)
        # The init's budget first (6/min, the scarce one): a post that must wait for it gives
        # the worker back before spending a creator_info request it would have to repeat.
        init_budget = init_budget or await spend(ctx, post.open_id, "init")
        try:
            info_budget = info_budget or await spend(ctx, post.open_id, "creator_info")
            await revalidate(ctx, client, post_id, post, token, policy)
            budgets = (info_budget, init_budget)
            attempt_id, tracking = await init(ctx, client, post_id, post, token, run, budgets)
        finally:  # each is settled at most once: normally `init` has done it with its answer
            settle(ctx, info_budget)
            settle(ctx, init_budget)
        if not tracking:
            await after_init(ctx, client, post_id, attempt_id, post.account_id)


async def revalidate(
    ctx: PublishContext,
    client: tiktok.AsyncTikTokClient,
    post_id: int,
    post: store.PostToStart,
    token: str,
    policy: rules.AppPolicy,
) -> None:
    """Fresh creator_info, then the stored choices against it: they must still hold, by the
    same `rules.validate` the Post page and the publish route ran (never changed silently).
    (Its budget is reserved and settled by the caller.)"""
    try:
        # https://developers.tiktok.com/doc/content-posting-api-reference-query-creator-info
        info = await client.creator_info(access_token=token)
    except tiktok.CreatorCannotPostError as exc:
        raise Finish(
            outcomes.init_error_outcome(exc.code), code=exc.code, log_id=exc.log_id
        ) from exc
    except (tiktok.TransportError, tiktok.ServerError, tiktok.RateLimitedError) as exc:
        raise api_retry(ctx, post_id, exc) from exc
    except tiktok.APIError as exc:
        raise Finish(
            outcomes.init_error_outcome(exc.code), code=exc.code, log_id=exc.log_id
        ) from exc
    problems = rules.validate(creator_facts(info), draft_from_choices(post.choices), policy)
    if problems:
        words = " ".join(p.message for p in problems)
        raise Finish(
            outcomes.Outcome(
                states.NEEDS_CONFIRMATION,
                "Your TikTok settings changed since you chose this post's options, so nothing "
                f"was sent: {words} Open the post, check its options and confirm again.",
            ),
            code=",".join(p.rule for p in problems),
        )


async def init(
    ctx: PublishContext,
    client: tiktok.AsyncTikTokClient,
    post_id: int,
    facts: store.PostToStart,
    token: str,
    run: RunEnded,
    budgets: tuple[Reservation | None, Reservation | None] = (None, None),
) -> tuple[int, bool]:
    """Write the attempt, send the init, store its answer. Returns the attempt's id and whether
    tracking has started (nothing to upload: TikTok pulls); then the run has ended too.

    `budgets`: the creator_info request's (answered just before) and the init's; each is
    settled in the first transaction after its answer, not in one of its own."""
    info_budget, init_budget = budgets
    now = ctx.clock()
    source = transfer_source(ctx.settings, facts)
    media_token = new_media_token() if source == "PULL_FROM_URL" else None
    request = build_init(ctx.settings, facts, source, media_token)
    with ctx.factory() as session, session.begin():
        cancel = store.cancel_requested(session, post_id=post_id)
        if cancel is None:
            raise Finish(outcomes.UNKNOWN_FAILURE, code="missing")
        if cancel:
            raise Finish(outcomes.CANCELLED_BY_CREATOR, code="cancelled")
        attempt_id = store.insert_attempt(
            session,
            post_id=post_id,
            source=source,
            media_token=media_token,
            token_expires_at=now + ctx.timing.media_url_ttl if media_token else None,
            now=now,
        )
        settle(ctx, info_budget, within=session)
    committed(ctx, info_budget)
    # The attempt row (init_sent) is committed: from here on a crash leaves an ambiguous trace.
    # (The init's budget was reserved by the caller, before creator_info.)
    try:
        answer = await send_init(client, token, request)
    except LockdownActive as exc:
        # The gate refused it before it left (TOS-2): nothing exists at TikTok.
        _end_attempt(ctx, attempt_id, states.REJECTED, exc)
        raise
    except (tiktok.TransportError, tiktok.ServerError) as exc:
        _end_attempt(ctx, attempt_id, states.AMBIGUOUS)
        raise api_retry(ctx, post_id, exc) from exc
    except tiktok.RateLimitedError as exc:
        _end_attempt(ctx, attempt_id, states.REJECTED, exc)
        raise Reschedule(60.0) from exc
    except tiktok.APIError as exc:
        _end_attempt(ctx, attempt_id, states.REJECTED, exc)
        raise Finish(
            outcomes.init_error_outcome(exc.code), code=exc.code, log_id=exc.log_id
        ) from exc
    except tiktok.TikTokError as exc:  # refused before sending (RequestValidationError)
        _end_attempt(ctx, attempt_id, states.REJECTED, exc)
        raise Finish(outcomes.UNKNOWN_FAILURE, code="request_invalid") from exc
    # Store the publish_id before anything else happens; when TikTok pulls, tracking starts in
    # the same transaction.
    tracking = source != "FILE_UPLOAD"
    with ctx.factory() as session, session.begin():
        if not store.confirm_attempt(
            session,
            post_id=post_id,
            attempt_id=attempt_id,
            publish_id=answer.publish_id,
            upload_url=answer.upload_url,
            now=ctx.clock(),
        ):
            raise Finish(outcomes.UNKNOWN_FAILURE, code="missing")
        settle(ctx, init_budget, within=session)
        if tracking:
            start_tracking(session, ctx, post_id, facts.account_id)
            store.end_run(session, post_id=post_id, holder=run.holder)
    committed(ctx, init_budget)
    if tracking:  # committed: the run's release is done
        run.ended_in_state = states.PROCESSING
    return attempt_id, tracking


def _end_attempt(
    ctx: PublishContext, attempt_id: int, target: str, exc: Exception | None = None
) -> None:
    """The init failed: ambiguous when its answer was lost (its media URL revoked at once, so a
    ghost can only fail), rejected when TikTok refused it (with TikTok's code and log_id)."""
    with ctx.factory() as session, session.begin():
        attempt = session.get(store.PublishAttempt, attempt_id)
        if attempt is None or attempt.state != states.INIT_SENT:
            return
        lifecycle.move_attempt(attempt, target, now=ctx.clock())
        if exc is not None:
            attempt.error_code = str(getattr(exc, "code", "") or type(exc).__name__)[:64]
            attempt.log_id = str(getattr(exc, "log_id", ""))[:128]


async def after_init(
    ctx: PublishContext,
    client: tiktok.AsyncTikTokClient,
    post_id: int,
    attempt_id: int,
    account_id: int,
) -> None:
    """Send the bytes when TikTok waits for them (FILE_UPLOAD), then hand over to tracking."""
    with ctx.factory() as session, session.begin():
        attempt = session.get(store.PublishAttempt, attempt_id)
        assert attempt is not None
        upload_url = attempt.upload_url
        needs_upload = attempt.source == "FILE_UPLOAD" and not attempt.upload_done
        post = must_get(session, post_id)
        if not (needs_upload and upload_url):
            # Nothing to send (TikTok pulls): tracking starts in this same transaction.
            start_tracking(session, ctx, post_id, account_id)
            return
        key = str(post.media[0]["key"]) if post.media else ""
        content_type = str(post.media[0].get("content_type") or "") if post.media else ""

    def at_chunk_boundary(sent: int, total: int) -> None:
        # A stopping worker gives the post back between chunks; the next run resumes the
        # upload where TikTok says it stopped (the publish_id is stored, never a new init).
        if sent < total and ctx.stopping():
            raise Reschedule(0.0)

    try:
        with ctx.media_store.open_binary(key) as handle:
            # https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide
            await client.upload_file(
                upload_url=upload_url,
                file=handle,
                content_type=content_type or None,
                progress=at_chunk_boundary,
            )
    except tiktok.UploadUrlExpiredError as exc:
        raise Finish(outcomes.UPLOAD_EXPIRED, code="upload_url_expired") from exc
    except (tiktok.TransportError, tiktok.UploadError, tiktok.ServerError) as exc:
        # The publish exists: resume the upload later, never a new init.
        raise api_retry(ctx, post_id, exc) from exc
    with ctx.factory() as session, session.begin():
        attempt = session.get(store.PublishAttempt, attempt_id)
        assert attempt is not None
        attempt.upload_done = True
        must_get(session, post_id)  # deleted meanwhile: nothing to track
        start_tracking(session, ctx, post_id, account_id)


def start_tracking(session: Session, ctx: PublishContext, post_id: int, account_id: int) -> None:
    """The publish is with TikTok: look at its status soon, and free the creator's lease."""
    now = ctx.clock()
    store.start_tracking(
        session,
        post_id=post_id,
        account_id=account_id,
        next_look=now + timedelta(seconds=ctx.timing.poll_first_s),
        now=now,
    )
