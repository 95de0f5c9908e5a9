"""Housekeeping the publish workers do between jobs: nothing left behind (issue 15, item 2).

- Uploads abandoned before they finished (`store.uploads.STALE_AFTER` without a byte) are
  deleted with their bytes, the unfinished ones included.
- The media of a post that ended (published, in the inbox, failed, cancelled, disconnected) is
  deleted once the operator's retention period (`DIRECTPOST_MEDIA_RETENTION_DAYS`) has passed
  since: TikTok keeps the post, and nothing here can send it again. A post that may still be
  confirmed again (held, try later, needs confirmation) keeps its media, and so does every post
  that shares an upload with such a post. The post keeps its page and its history.

- Prepared posts nobody reviewed within `prepared.REVIEW_WITHIN` expire, and their media goes
  (issue 18); whoever prepared them is told.

The worker runs `sweep` every `SWEEP_EVERY`; with several workers each may run it: deleting
what is already gone is harmless.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from directpost.media.storage import MediaStore, MediaStoreError
from directpost.publishing import prepared, states
from directpost.store import posts as post_store
from directpost.store import uploads as upload_store
from directpost.store.base import utcnow

log = logging.getLogger(__name__)

#: How often a worker sweeps.
SWEEP_EVERY = timedelta(minutes=10)
#: Posts whose media may go once the retention period has passed.
EXPIRABLE_STATES = (
    states.PUBLISHED,
    states.SENT_TO_INBOX,
    states.FAILED,
    states.CANCELLED,
    states.DISCONNECTED,
)
#: Posts handled per transaction.
BATCH = 200


def sweep_abandoned_uploads(
    factory: sessionmaker[Session], media_store: MediaStore, *, now: datetime | None = None
) -> int:
    """Delete uploads nobody touched for `STALE_AFTER` and their bytes; returns how many."""
    with factory() as session, session.begin():
        stale = upload_store.stale_uploads(session, now=now or utcnow())
        keys = [
            key
            for upload in stale
            for upload_file in upload.files
            for key in {
                upload_store.storage_key(upload.id, upload_file.id),
                upload_file.storage_key,
            }
            if key
        ]
        for upload in stale:
            session.delete(upload)
    for key in keys:
        try:
            media_store.delete(key)
        except MediaStoreError:  # the row is gone: only the log can tell the operator now
            log.warning("could not delete the bytes of an abandoned upload (%s)", key)
    if stale:
        log.info("deleted %d abandoned upload(s)", len(stale))
    return len(stale)


def expire_final_media(
    factory: sessionmaker[Session],
    media_store: MediaStore,
    *,
    retention: timedelta,
    now: datetime | None = None,
) -> int:
    """Delete the media of posts that ended more than `retention` ago (see the module's
    docstring); returns how many posts lost their media."""
    cutoff = (now or utcnow()) - retention
    done = after = 0
    while True:
        with factory() as session, session.begin():
            scanned, posts, keys, upload_ids = _expirable(session, cutoff, after)
            stamp = (now or utcnow()).isoformat()
            for post in posts:
                post.media = [{**item, "key": "", "removed_at": stamp} for item in post.media]
            for upload_id in upload_ids:
                session.execute(
                    delete(upload_store.Upload).where(upload_store.Upload.id == upload_id)
                )
        for key in keys:
            try:
                media_store.delete(key)
            except MediaStoreError:  # the post no longer points at it: only the log can tell
                log.warning("could not delete the media of an ended post (%s)", key)
        done += len(posts)
        if scanned is None:
            if done:
                log.info("deleted the media of %d ended post(s)", done)
            return done
        after = scanned


def _expirable(
    session: Session, cutoff: datetime, after: int
) -> tuple[int | None, list[post_store.Post], set[str], set[str]]:
    """The next `BATCH` ended posts after id `after`, those of them whose media goes, its keys
    and uploads; the last id scanned (None: nothing left to scan)."""
    Post = post_store.Post
    other = aliased(Post)
    # An upload shared with a post that still needs its media keeps it.
    still_needed = exists().where(
        and_(
            other.upload_id == Post.upload_id,
            other.id != Post.id,
            ~(
                other.state.in_(EXPIRABLE_STATES)
                & (other.finished_at.is_not(None))
                & (other.finished_at < cutoff)
            ),
        )
    )
    candidates = session.scalars(
        select(Post)
        .where(
            Post.state.in_(EXPIRABLE_STATES),
            Post.finished_at.is_not(None),
            Post.finished_at < cutoff,
            Post.id > after,
            ~(Post.upload_id.is_not(None) & still_needed),
        )
        .order_by(Post.id)
        .limit(BATCH)
    ).all()
    if not candidates:
        return None, [], set(), set()
    # Posts whose media went in an earlier sweep are scanned again (no column says so), not
    # changed: a sweep every ten minutes reads the ended posts' rows once.
    posts = [p for p in candidates if any(item.get("key") for item in p.media)]
    keys = {str(item["key"]) for post in posts for item in post.media if item.get("key")}
    upload_ids = {post.upload_id for post in posts if post.upload_id}
    return candidates[-1].id, posts, keys, upload_ids


def expire_prepared(
    factory: sessionmaker[Session], media_store: MediaStore, *, now: datetime | None = None
) -> int:
    """Expire prepared posts nobody reviewed in time (`prepared.expire_unreviewed`) and delete
    their media; returns how many media files went."""
    with factory() as session, session.begin():
        keys = prepared.expire_unreviewed(session, now=now or utcnow())
    for key in keys:
        try:
            media_store.delete(key)
        except MediaStoreError:
            log.warning("could not delete the media of an expired prepared post (%s)", key)
    return len(keys)
