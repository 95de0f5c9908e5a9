"""The publish job: takes one post one step further, from what the database says.

Each run claims the post (one job per post), reads its rows, and does the next thing: start the
publish (fresh token, fresh creator_info, re-validation, init, transfer) or keep tracking it.
It writes every fact to the database the moment it learns it, so a run killed at any point can
simply be run again (architecture.md "No duplicate posts, no lost posts"):

- the attempt row is written (`init_sent`) before the init request leaves;
- the `publish_id` is stored before anything else happens after the init answers;
- an attempt found still `init_sent` (its answer was lost, or the worker died) is *ambiguous*:
  its media URL is revoked before any new attempt, so a ghost publish can only fail;
- once a `publish_id` is known, failures of the upload or of status calls are answered by
  resuming or by tracking again, never by a new init.

The TikTok calls follow https://developers.tiktok.com/doc/content-posting-api-reference-direct-post
and its sibling pages (spec/tiktok-api.md §3).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from directpost import tiktok
from directpost.config import Settings
from directpost.media.storage import MediaStore
from directpost.media.urls import new_media_token
from directpost.publishing import outcomes
from directpost.publishing.budgets import Budgets, Ticket
from directpost.publishing.drafts import creator_facts_from_info, draft_from_choices
from directpost.rules.model import AppPolicy, Draft
from directpost.rules.validate import validate
from directpost.store import accounts
from directpost.store import posts as store
from directpost.store.base import utcnow
from directpost.store.crypto import TokenCipher

log = logging.getLogger(__name__)

#: TikTok's documented posting cap per creator per day (spec §5.2; "around 15").
POSTS_PER_DAY = 15
#: Pending inbox shares per creator per 24 h (CAP-5).
PENDING_SHARES_PER_DAY = 5
DAY = timedelta(hours=24)


@dataclass
class Timing:
    """How long to wait between things; tests shrink these (never the TikTok limits)."""

    claim_ttl: timedelta = timedelta(seconds=60)
    lease_ttl: timedelta = timedelta(minutes=2)
    lease_busy_retry: timedelta = timedelta(seconds=3)
    media_url_ttl: timedelta = timedelta(hours=2)
    retry_base_s: float = 5.0
    retry_max_s: float = 300.0
    # Webhooks say when a post is final; polling is the fallback for a missed one, so it starts
    # late enough that a delivered webhook makes it unnecessary (under load one can take a few
    # seconds), and backs off inside the 30/min status budget.
    poll_first_s: float = 10.0
    poll_base_s: float = 5.0
    poll_max_s: float = 60.0
    #: Budget waits up to this long happen inside the job; longer ones reschedule it.
    inline_wait_s: float = 5.0
    max_tries: int = 6


@dataclass
class PublishContext:
    """Everything a job needs, built once per process (see `context_from_settings`)."""

    settings: Settings
    factory: sessionmaker[Session]
    cipher: TokenCipher
    client: Callable[[], AbstractAsyncContextManager[Any]]
    budgets: Budgets
    media_store: MediaStore
    timing: Timing = field(default_factory=Timing)
    clock: Callable[[], datetime] = utcnow
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    #: Called with the account's id when a run that was starting one of its posts has let go
    #: of the creator's lease: the worker hands the creator's next due post to a job at once
    #: rather than at the next sweep (one publish at a time per creator makes starts a chain).
    handoff: Callable[[int], None] | None = None


class _Reschedule(Exception):
    """Stop this run; look at the post again after `delay` seconds."""

    def __init__(self, delay: float, *, count_try: bool = False) -> None:
        super().__init__(f"again in {delay:.1f}s")
        self.delay = delay
        self.count_try = count_try


class _Finish(Exception):
    """Stop this run: the post reached `outcome` (with TikTok's log_id when known)."""

    def __init__(self, outcome: outcomes.Outcome, *, code: str = "", log_id: str = "") -> None:
        super().__init__(outcome.state)
        self.outcome = outcome
        self.code = code
        self.log_id = log_id


def media_url(settings: Settings, token: str, filename: str) -> str:
    """The per-attempt public URL TikTok pulls from (TECH-2): `{base}/m/{token}/{filename}`."""
    return f"{settings.resolved_media_public_base_url}/m/{token}/{filename}"


def media_filename(index: int, item: dict[str, Any]) -> str:
    """The name a media item is served under: its position plus its own extension."""
    suffix = PurePosixPath(str(item.get("filename", ""))).suffix.lower()
    return f"{index}{suffix if suffix.isascii() and len(suffix) <= 6 else ''}"


def _backoff(base: float, cap: float, n: int) -> float:
    return float(min(cap, base * (2 ** max(0, n))))


# ---------------------------------------------------------------------------------------------


@dataclass
class _Run:
    """One job's run on one post: its claim's holder, and whether the run already ended in
    the transaction that started tracking (then the post's state after it)."""

    holder: str
    ended_in_state: str | None = None


async def advance(ctx: PublishContext, post_id: int) -> str | None:
    """Take the post one step further; returns its state afterwards (None if not ours now).

    Besides its own work a run costs the claim (which also reads the post, and lets go at
    once of a post that is already final: a webhook often finishes a post while its tracking
    job waits in the queue) and the release at the end, which a started publish does in the
    same transaction that stores TikTok's answer.
    """
    run = _Run(holder=uuid.uuid4().hex)
    now = ctx.clock()
    with ctx.factory() as session, session.begin():
        if not store.try_claim_post(
            session, post_id=post_id, holder=run.holder, ttl=ctx.timing.claim_ttl, now=now
        ):
            return None
        progress = store.post_progress(session, post_id=post_id)
        if progress is None:
            return None
        if progress.state in store.FINAL_STATES:
            store.end_run(session, post_id=post_id, holder=run.holder)
            return progress.state
        seen = (progress.state, progress.due_at)
    beat = asyncio.create_task(_heartbeat(ctx, post_id, run.holder))
    try:
        await _advance_claimed(ctx, post_id, seen, now, run)
    finally:
        beat.cancel()
        after: str | None
        if run.ended_in_state is not None:
            after = run.ended_in_state
        else:
            after = _end_run(ctx, post_id, run)
    starting = progress.state in (store.SCHEDULED, store.QUEUED, store.PUBLISHING)
    if starting and after != store.PUBLISHING and ctx.handoff is not None:
        ctx.handoff(progress.account_id)
    return after


def _end_run(ctx: PublishContext, post_id: int, run: _Run) -> str | None:
    """Release what the run held; returns the post's state."""
    with ctx.factory() as session, session.begin():
        store.end_run(session, post_id=post_id, holder=run.holder)
        progress = store.post_progress(session, post_id=post_id)
        if progress is None:
            return None
        # The creator's lease outlives the run only while the post waits, mid-start, for the
        # init budget (state publishing).
        if progress.state != store.PUBLISHING:
            store.release_lease(session, account_id=progress.account_id, post_id=post_id)
        return progress.state


async def _heartbeat(ctx: PublishContext, post_id: int, holder: str) -> None:
    """Renew the job's claim (and the creator's lease) while a long step runs."""
    period = max(0.2, ctx.timing.claim_ttl.total_seconds() / 3)
    while True:
        await asyncio.sleep(period)

        def renew() -> None:
            with ctx.factory() as session, session.begin():
                now = ctx.clock()
                store.renew_post_claim(
                    session, post_id=post_id, holder=holder, ttl=ctx.timing.claim_ttl, now=now
                )
                store.renew_lease(
                    session,
                    holder=f"post-{post_id}",
                    ttl=ctx.timing.lease_ttl,
                    now=now,
                )

        try:
            await asyncio.to_thread(renew)
        except Exception:  # tried again next period: the claim outlives two missed renewals
            log.exception("renewing the claim on post %s failed", post_id)


async def _advance_claimed(
    ctx: PublishContext, post_id: int, seen: tuple[str, datetime], now: datetime, run: _Run
) -> None:
    """`seen`: the post's state and due time, read under the claim just taken."""
    state, due_at = seen
    if due_at > now:
        return
    try:
        if state in (store.SCHEDULED, store.QUEUED, store.PUBLISHING):
            await _publish(ctx, post_id, run)
        else:
            await _track(ctx, post_id)
    except _Reschedule as again:
        _reschedule(ctx, post_id, again)
    except _Finish as done:
        _finish(ctx, post_id, done)
    except accounts.AccountNotConnectedError:
        _finish(ctx, post_id, _Finish(outcomes.DISCONNECTED, code="account_disconnected"))


def _reschedule(ctx: PublishContext, post_id: int, again: _Reschedule) -> None:
    with ctx.factory() as session, session.begin():
        post = store.get_post(session, post_id=post_id)
        if post is None or post.state in store.FINAL_STATES:
            return
        if again.count_try:
            post.tries += 1
            if post.tries >= ctx.timing.max_tries:
                _apply_finish(session, ctx, post, _Finish(outcomes.TOO_MANY_TRIES, code="retries"))
                return
        post.due_at = ctx.clock() + timedelta(seconds=again.delay)
        post.updated_at = ctx.clock()


def _finish(ctx: PublishContext, post_id: int, done: _Finish) -> None:
    with ctx.factory() as session, session.begin():
        post = store.get_post(session, post_id=post_id)
        if post is not None and post.state not in store.FINAL_STATES:
            _apply_finish(session, ctx, post, done)


def _apply_finish(session: Session, ctx: PublishContext, post: store.Post, done: _Finish) -> None:
    now = ctx.clock()
    store.set_state(
        post,
        state=done.outcome.state,
        reason_code=done.code,
        reason_text=done.outcome.text,
        log_id=done.log_id or None,
        now=now,
    )
    for attempt in post.attempts:
        store.revoke_attempt_url(attempt, now=now)
    store.release_lease(session, account_id=post.account_id, post_id=post.id)


# --------------------------------------------------------------------------- starting a publish


async def _publish(ctx: PublishContext, post_id: int, run: _Run) -> None:
    now = ctx.clock()
    with ctx.factory() as session, session.begin():
        post = store.post_to_start(session, post_id=post_id)
        if post is None:
            raise _Finish(outcomes.UNKNOWN_FAILURE, code="missing")
        if post.cancel_requested:
            raise _Finish(outcomes.CANCELLED_BY_CREATOR, code="cancelled")
        account = session.get(accounts.TikTokAccount, post.account_id)
        if account is None or not account.is_connected:
            raise _Finish(outcomes.DISCONNECTED, code="account_disconnected")
        attempts = store.attempt_states(session, post_id=post_id)
        confirmed = next((i for i, state in attempts if state == store.CONFIRMED), None)
        if confirmed is None and any(state == store.INIT_SENT for _, state in attempts):
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
        problem = None
        policy = None
        if leased:
            if post.state != store.PUBLISHING:
                store.mark_publishing(session, post_id=post_id, now=now)
            if confirmed is None:
                policy, problem = start_standing(session, ctx.settings, post, now)
        draft = draft_from_choices(post.choices)
        # Read while the row is at hand; None when it must be refreshed first (under a lock).
        known_token = accounts.usable_access_token(account, cipher=ctx.cipher, now=now)
    if not leased:
        raise _Reschedule(ctx.timing.lease_busy_retry.total_seconds())
    if problem is not None:
        raise _Finish(outcomes.Outcome(store.TRY_LATER, problem), code="cap")

    open_id, account_id = post.open_id, post.account_id
    async with ctx.client() as client:
        if confirmed is not None:
            await _after_init(ctx, client, post_id, confirmed, account_id)
            return
        assert policy is not None
        token = known_token or await _access_token(ctx, client, account_id)
        # The init's budget first (6/min, the scarce one): a post that must wait for it gives
        # the worker back before spending a creator_info call or writing an attempt.
        init_ticket = await _spend(ctx, open_id, "init")
        try:
            await _revalidate(ctx, client, post_id, open_id, token, draft, policy)
            attempt_id, tracking = await _init(ctx, client, post_id, post, token, run)
        finally:
            await _settle(ctx, init_ticket)
        if not tracking:
            await _after_init(ctx, client, post_id, attempt_id, account_id)


def _must(session: Session, post_id: int) -> store.Post:
    post = store.get_post(session, post_id=post_id)
    if post is None:
        raise _Finish(outcomes.UNKNOWN_FAILURE, code="missing")
    return post


def app_policy(session: Session, settings: Settings, *, open_id: str, now: datetime) -> AppPolicy:
    """The app's standing for CAP-1: how many creators posted in the last 24 h, and whether
    this creator is one of them."""
    return _policy(settings, store.cap_standing(session, open_id=open_id, since=now - DAY))


def _policy(settings: Settings, standing: store.CapStanding) -> AppPolicy:
    cap = (
        settings.creator_cap_per_day
        if settings.app_audited
        else min(5, settings.creator_cap_per_day)
    )
    return AppPolicy(
        audited=settings.app_audited,
        creator_cap=cap,
        creators_posted_24h=standing.creators_posted,
        creator_posted_24h=standing.creator_posted,
    )


def cap_problem(
    session: Session, settings: Settings, post: store.Post, now: datetime
) -> str | None:
    """A plain sentence when a cap forbids starting this post now (CAP-1, CAP-3, CAP-5)."""
    return start_standing(session, settings, post, now)[1]


def start_standing(
    session: Session, settings: Settings, post: store.Post | store.PostToStart, now: datetime
) -> tuple[AppPolicy, str | None]:
    """The app's standing (CAP-1) for the post's creator at `now`, and the plain sentence when
    a cap forbids starting the post now (CAP-1, CAP-3, CAP-5); one query."""
    standing = store.cap_standing(session, open_id=post.open_id, since=now - DAY)
    policy = _policy(settings, standing)
    return policy, _cap_problem(policy, standing, mode=post.mode)


def _cap_problem(policy: AppPolicy, standing: store.CapStanding, *, mode: str) -> str | None:
    if not policy.creator_posted_24h and policy.creators_posted_24h >= policy.creator_cap:
        return (
            f"{policy.creators_posted_24h} different accounts have already posted through this "
            "app in the last 24 hours, the most TikTok allows it. Nothing has been sent; try "
            "again tomorrow."
        )
    if standing.started >= POSTS_PER_DAY and mode == "direct":
        return (
            f"This account has already posted {standing.started} times through this app in the "
            "last 24 hours, TikTok's daily limit. Nothing has been sent; try again tomorrow."
        )
    if mode == "inbox" and standing.inbox_started >= PENDING_SHARES_PER_DAY:
        return (
            f"{standing.inbox_started} drafts were already sent to this account's TikTok inbox "
            "in the last 24 hours, the most TikTok allows. Post or delete them in the TikTok "
            "app, then try again tomorrow."
        )
    return None


async def _access_token(ctx: PublishContext, client: Any, account_id: int) -> str:
    async def refresh(refresh_token: str) -> Any:
        # https://developers.tiktok.com/doc/oauth-user-access-token-management
        return await client.refresh_token(refresh_token=refresh_token)

    try:
        return await accounts.fresh_access_token(
            ctx.factory, account_id=account_id, cipher=ctx.cipher, refresh=refresh
        )
    except tiktok.OAuthError as exc:
        raise _Finish(outcomes.DISCONNECTED, code="refresh_refused") from exc
    except (tiktok.TransportError, tiktok.ServerError, TimeoutError) as exc:
        raise _Reschedule(_retry_delay(ctx, post_tries=0), count_try=True) from exc


def _retry_delay(ctx: PublishContext, *, post_tries: int) -> float:
    return _backoff(ctx.timing.retry_base_s, ctx.timing.retry_max_s, post_tries)


async def _spend(ctx: PublishContext, open_id: str, family: str) -> Ticket | None:
    """Wait for this creator's budget (CAP-4); long waits give the worker back. The ticket is
    settled (`_settle`) once the request's answer is back."""
    waited = 0.0
    while True:
        # Called in this thread, like the database: a job owns its worker thread's loop, and
        # a hop to another thread per call cost more than the call (one Redis round trip).
        wait, ticket = ctx.budgets.try_reserve(open_id, family)
        if wait <= 0:
            return ticket
        if waited + wait > ctx.timing.inline_wait_s:
            raise _Reschedule(wait)
        await ctx.sleep(wait)
        waited += wait


async def _settle(ctx: PublishContext, ticket: Ticket | None) -> None:
    """Count the request from when its answer came back (see `Budgets.settle`)."""
    if ticket is not None:
        ctx.budgets.settle(ticket)


def _api_retry(ctx: PublishContext, post_id: int, exc: Exception) -> _Reschedule:
    with ctx.factory() as session:
        post = _must(session, post_id)
        tries = post.tries
    if isinstance(exc, tiktok.RateLimitedError):
        return _Reschedule(60.0)
    return _Reschedule(_retry_delay(ctx, post_tries=tries), count_try=True)


async def _revalidate(
    ctx: PublishContext,
    client: Any,
    post_id: int,
    open_id: str,
    token: str,
    draft: Draft,
    policy: AppPolicy,
) -> None:
    """Fresh creator_info, then the stored choices (`draft`) against it: they must still
    hold. `policy`: the app's standing (CAP-1), read as this run took the creator's lease."""
    ticket = await _spend(ctx, open_id, "creator_info")
    try:
        # https://developers.tiktok.com/doc/content-posting-api-reference-query-creator-info
        info = await client.creator_info(access_token=token)
    except tiktok.CreatorCannotPostError as exc:
        raise _Finish(
            outcomes.init_error_outcome(exc.code), code=exc.code, log_id=exc.log_id
        ) from exc
    except (tiktok.TransportError, tiktok.ServerError, tiktok.RateLimitedError) as exc:
        raise _api_retry(ctx, post_id, exc) from exc
    except tiktok.APIError as exc:
        raise _Finish(
            outcomes.init_error_outcome(exc.code), code=exc.code, log_id=exc.log_id
        ) from exc
    finally:
        await _settle(ctx, ticket)
    problems = validate(creator_facts_from_info(info), draft, policy)
    if problems:
        words = " ".join(p.message for p in problems)
        raise _Finish(
            outcomes.Outcome(
                store.NEEDS_CONFIRMATION,
                "Your TikTok settings changed since you chose this post's options, so nothing "
                f"was sent: {words} Open the post, check its options and confirm again.",
            ),
            code=",".join(p.rule for p in problems),
        )


def _transfer_source(settings: Settings, post: store.PostToStart) -> str:
    """PULL_FROM_URL for media the server holds (TECH-2); FILE_UPLOAD only when the operator
    chose it for a deployment without a public URL. Photos can only be pulled."""
    if post.kind == "photos":
        return "PULL_FROM_URL"
    return "FILE_UPLOAD" if settings.transfer_mode == "file_upload" else "PULL_FROM_URL"


async def _init(
    ctx: PublishContext, client: Any, post_id: int, facts: store.PostToStart, token: str, run: _Run
) -> tuple[int, bool]:
    """Write the attempt, send the init, store its answer. Returns the attempt's id and whether
    tracking has started (nothing to upload: TikTok pulls); then the run has ended too."""
    now = ctx.clock()
    source_kind = _transfer_source(ctx.settings, facts)
    media_token = new_media_token() if source_kind == "PULL_FROM_URL" else None
    request = _init_request(ctx.settings, facts, source_kind, media_token)
    with ctx.factory() as session, session.begin():
        cancel = store.cancel_requested(session, post_id=post_id)
        if cancel is None:
            raise _Finish(outcomes.UNKNOWN_FAILURE, code="missing")
        if cancel:
            raise _Finish(outcomes.CANCELLED_BY_CREATOR, code="cancelled")
        attempt_id = store.insert_attempt(
            session,
            post_id=post_id,
            source=source_kind,
            media_token=media_token,
            token_expires_at=now + ctx.timing.media_url_ttl if media_token else None,
            now=now,
        )
    # The attempt row (init_sent) is committed: from here on a crash leaves an ambiguous trace.
    # (The init's budget was reserved by the caller, before creator_info.)
    try:
        answer = await _send_init(client, token, request)
    except (tiktok.TransportError, tiktok.ServerError) as exc:
        _mark_ambiguous(ctx, attempt_id)
        raise _api_retry(ctx, post_id, exc) from exc
    except tiktok.RateLimitedError as exc:
        _mark_rejected(ctx, attempt_id, exc)
        raise _Reschedule(60.0) from exc
    except tiktok.APIError as exc:
        _mark_rejected(ctx, attempt_id, exc)
        raise _Finish(
            outcomes.init_error_outcome(exc.code), code=exc.code, log_id=exc.log_id
        ) from exc
    except tiktok.TikTokError as exc:  # refused before sending (RequestValidationError)
        _mark_rejected(ctx, attempt_id, exc)
        raise _Finish(outcomes.UNKNOWN_FAILURE, code="request_invalid") from exc
    # Store the publish_id before anything else happens; when TikTok pulls, tracking starts in
    # the same transaction.
    tracking = source_kind != "FILE_UPLOAD"
    with ctx.factory() as session, session.begin():
        if not store.confirm_attempt(
            session,
            post_id=post_id,
            attempt_id=attempt_id,
            publish_id=answer.publish_id,
            upload_url=answer.upload_url,
            now=ctx.clock(),
        ):
            raise _Finish(outcomes.UNKNOWN_FAILURE, code="missing")
        if tracking:
            _start_tracking(session, ctx, post_id, facts.account_id)
            store.end_run(session, post_id=post_id, holder=run.holder)
    if tracking:  # committed: the run's release is done
        run.ended_in_state = store.PROCESSING
    return attempt_id, tracking


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})


def pull_source(url: str) -> Any:
    """The library's PULL_FROM_URL source for `url`.

    TikTok only pulls https URLs, and the library refuses anything else. The one exception is
    the local emulator (DG-1), which pulls plain http from loopback: for such a URL the source
    is built without the https check, so `make run` works with no certificate.
    """
    try:
        return tiktok.PullFromUrlSource(url)
    except tiktok.RequestValidationError:
        parts = urlsplit(url)
        host = parts.netloc.rsplit(":", 1)[0] if parts.netloc.count(":") <= 1 else parts.netloc
        if parts.scheme != "http" or (host not in _LOOPBACK_HOSTS and not host.startswith("[::1]")):
            raise
        source = object.__new__(tiktok.PullFromUrlSource)
        object.__setattr__(source, "video_url", url)
        return source


@dataclass(frozen=True)
class _InitRequest:
    kind: str  # video | inbox_video | photo
    source_kind: str
    post_info: Any
    source: Any
    post_mode: str = "DIRECT_POST"
    is_aigc: bool | None = None


def _init_request(
    settings: Settings, post: store.PostToStart, source_kind: str, media_token: str | None
) -> _InitRequest:
    draft = draft_from_choices(post.choices)
    media = list(post.media)
    urls = [
        media_url(settings, media_token or "", media_filename(i, m)) for i, m in enumerate(media)
    ]
    if post.kind == "photos":
        source: Any = tiktok.PhotoSource(urls, draft.photo_cover_index)
        if post.mode == "inbox":
            info: Any = tiktok.PhotoPostInfo(title=draft.title, description=draft.description)
            return _InitRequest("photo", source_kind, info, source, "MEDIA_UPLOAD", None)
        info = tiktok.PhotoPostInfo(
            title=draft.title,
            description=draft.description,
            privacy_level=draft.privacy_level,  # type: ignore[arg-type]
            disable_comment=not draft.allow_comment,
            brand_content_toggle=draft.disclose_commercial and draft.branded_content,
            brand_organic_toggle=draft.disclose_commercial and draft.your_brand,
        )
        return _InitRequest("photo", source_kind, info, source, "DIRECT_POST", draft.is_aigc)
    if source_kind == "PULL_FROM_URL":
        source = pull_source(urls[0])
    else:
        source = tiktok.FileUploadSource.for_size(int(media[0]["size"]))
    if post.mode == "inbox":
        return _InitRequest("inbox_video", source_kind, None, source)
    kwargs: dict[str, Any] = {}
    if draft.cover_timestamp_ms is not None:
        kwargs["video_cover_timestamp_ms"] = draft.cover_timestamp_ms
    info = tiktok.VideoPostInfo(
        privacy_level=draft.privacy_level,  # type: ignore[arg-type]
        title=draft.title,
        disable_comment=not draft.allow_comment,
        disable_duet=not draft.allow_duet,
        disable_stitch=not draft.allow_stitch,
        brand_content_toggle=draft.disclose_commercial and draft.branded_content,
        brand_organic_toggle=draft.disclose_commercial and draft.your_brand,
        is_aigc=draft.is_aigc,
        **kwargs,
    )
    return _InitRequest("video", source_kind, info, source)


async def _send_init(client: Any, token: str, request: _InitRequest) -> Any:
    if request.kind == "photo":
        # https://developers.tiktok.com/doc/content-posting-api-reference-photo-post
        return await client.init_photo(
            access_token=token,
            post_mode=request.post_mode,
            post_info=request.post_info,
            source=request.source,
            is_aigc=request.is_aigc,
        )
    if request.kind == "inbox_video":
        # https://developers.tiktok.com/doc/content-posting-api-reference-upload-video
        return await client.init_inbox_video(access_token=token, source=request.source)
    # https://developers.tiktok.com/doc/content-posting-api-reference-direct-post
    return await client.init_video(
        access_token=token, post_info=request.post_info, source=request.source
    )


def _mark_ambiguous(ctx: PublishContext, attempt_id: int) -> None:
    """The init's answer was lost: revoke its media URL at once so a ghost can only fail."""
    with ctx.factory() as session, session.begin():
        attempt = session.get(store.PublishAttempt, attempt_id)
        if attempt is not None and attempt.state == store.INIT_SENT:
            attempt.state = store.AMBIGUOUS
            store.revoke_attempt_url(attempt, now=ctx.clock())


def _mark_rejected(ctx: PublishContext, attempt_id: int, exc: Exception) -> None:
    with ctx.factory() as session, session.begin():
        attempt = session.get(store.PublishAttempt, attempt_id)
        if attempt is not None:
            attempt.state = store.REJECTED
            attempt.error_code = str(getattr(exc, "code", type(exc).__name__))[:64]
            attempt.log_id = str(getattr(exc, "log_id", ""))[:128]
            store.revoke_attempt_url(attempt, now=ctx.clock())


async def _after_init(
    ctx: PublishContext, client: Any, post_id: int, attempt_id: int, account_id: int
) -> None:
    """Send the bytes when TikTok waits for them (FILE_UPLOAD), then hand over to tracking."""
    with ctx.factory() as session, session.begin():
        attempt = session.get(store.PublishAttempt, attempt_id)
        assert attempt is not None
        upload_url = attempt.upload_url
        needs_upload = attempt.source == "FILE_UPLOAD" and not attempt.upload_done
        post = _must(session, post_id)
        if not (needs_upload and upload_url):
            # Nothing to send (TikTok pulls): tracking starts in this same transaction.
            _start_tracking(session, ctx, post_id, account_id)
            return
        key = str(post.media[0]["key"]) if post.media else ""
        content_type = str(post.media[0].get("content_type") or "") if post.media else ""
    if needs_upload and upload_url:
        try:
            with ctx.media_store.open_binary(key) as handle:
                # https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide
                await client.upload_file(
                    upload_url=upload_url, file=handle, content_type=content_type or None
                )
        except tiktok.UploadUrlExpiredError as exc:
            raise _Finish(outcomes.UPLOAD_EXPIRED, code="upload_url_expired") from exc
        except (tiktok.TransportError, tiktok.UploadError, tiktok.ServerError) as exc:
            # The publish exists: resume the upload later, never a new init.
            raise _api_retry(ctx, post_id, exc) from exc
        with ctx.factory() as session, session.begin():
            attempt = session.get(store.PublishAttempt, attempt_id)
            assert attempt is not None
            attempt.upload_done = True
    with ctx.factory() as session, session.begin():
        _must(session, post_id)  # deleted meanwhile: nothing to track
        _start_tracking(session, ctx, post_id, account_id)


def _start_tracking(session: Session, ctx: PublishContext, post_id: int, account_id: int) -> None:
    """The publish is with TikTok: look at its status soon, and free the creator's lease."""
    now = ctx.clock()
    store.start_tracking(
        session,
        post_id=post_id,
        account_id=account_id,
        next_look=now + timedelta(seconds=ctx.timing.poll_first_s),
        now=now,
    )


# --------------------------------------------------------------------------- tracking


async def _track(ctx: PublishContext, post_id: int) -> None:
    """One status/fetch (the fallback for missed webhooks), inside the 30/min budget."""
    with ctx.factory() as session:
        post = _must(session, post_id)
        publish_id = post.publish_id
        open_id = post.open_id
        account_id = post.account_id
        cancel = post.cancel_requested
        polls = post.polls
        pull = any(a.source == "PULL_FROM_URL" for a in post.attempts if a.state == store.CONFIRMED)
        account = session.get(accounts.TikTokAccount, account_id)
        if account is None or not account.is_connected:
            raise _Finish(outcomes.DISCONNECTED, code="account_disconnected")
    if publish_id is None:
        raise _Finish(outcomes.UNKNOWN_FAILURE, code="no_publish_id")
    async with ctx.client() as client:
        token = await _access_token(ctx, client, account_id)
        ticket = await _spend(ctx, open_id, "status")
        try:
            # https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status
            status = await client.fetch_status(access_token=token, publish_id=publish_id)
        except (tiktok.TransportError, tiktok.ServerError, tiktok.RateLimitedError) as exc:
            # Keep tracking: the publish exists; a new init would risk a duplicate.
            raise _Reschedule(
                _backoff(ctx.timing.poll_base_s, ctx.timing.poll_max_s, polls)
            ) from exc
        except tiktok.APIError as exc:
            raise _Finish(outcomes.UNKNOWN_FAILURE, code=exc.code, log_id=exc.log_id) from exc
        finally:
            await _settle(ctx, ticket)
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
    status: Any,
    now: datetime,
    timing: Timing,
) -> None:
    """Record what status/fetch said and decide when to look again."""
    with factory() as session, session.begin():
        post = _must(session, post_id)
        if post.state in store.FINAL_STATES and post.state != store.SENT_TO_INBOX:
            return
        post.tiktok_status = status.status
        if status.post_ids:
            post.post_ids = sorted(set(post.post_ids) | set(status.post_ids))
        if status.status == "PUBLISH_COMPLETE":
            store.set_state(post, state=store.PUBLISHED, now=now)
        elif status.status == "SEND_TO_USER_INBOX":
            # Final for drafts: the creator finishes the post in the TikTok app.
            store.set_state(post, state=store.SENT_TO_INBOX, now=now)
        elif status.status == "FAILED":
            reason = status.fail_reason or ""
            outcome = outcomes.fail_reason_outcome(reason)
            store.set_state(
                post, state=outcome.state, reason_code=reason, reason_text=outcome.text, now=now
            )
        else:
            post.polls += 1
            post.due_at = now + timedelta(
                seconds=_backoff(timing.poll_base_s, timing.poll_max_s, post.polls - 1)
            )
            post.updated_at = now
        if post.state in store.FINAL_STATES:
            for attempt in post.attempts:
                store.revoke_attempt_url(attempt, now=now)
