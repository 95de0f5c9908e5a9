"""Housekeeping the publish workers do between jobs: nothing left behind (issue 15, item 2).

- Uploads abandoned before they finished (`store.uploads.STALE_AFTER` without a byte) are
  deleted with their bytes, the unfinished ones included.

The worker runs `sweep` every `SWEEP_EVERY`; with several workers each may run it: deleting
what is already gone is harmless.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from directpost.media.storage import MediaStore, MediaStoreError
from directpost.store import uploads as upload_store
from directpost.store.base import utcnow

log = logging.getLogger(__name__)

#: How often a worker sweeps.
SWEEP_EVERY = timedelta(minutes=10)


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
