"""Data the creator may see, export or delete (DG-5)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from directpost.store.posts.models import PostConsent
from directpost.store.posts.records import list_posts


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _consent(consent: PostConsent) -> dict[str, Any]:
    return {
        "creator_info": consent.creator_info,
        "declaration": consent.declaration,
        "label": consent.label,
        "choices": consent.choices,
        "consented_at": consent.consented_at.isoformat(),
    }


def export_posts(session: Session, *, person_id: int) -> list[dict[str, Any]]:
    """Everything stored about the person's posts, with each post's consent record and its
    attempts, as JSON-ready dicts (DG-5). No token or capability URL is included."""
    out: list[dict[str, Any]] = []
    for post in list_posts(session, person_id=person_id, limit=100_000):
        out.append(
            {
                "id": post.id,
                "kind": post.kind,
                "mode": post.mode,
                "choices": post.choices,
                "state": post.state,
                "reason": post.reason_text,
                "log_id": post.log_id,
                "publish_id": post.publish_id,
                "post_ids": list(post.post_ids),
                "scheduled_at": post.scheduled_at.isoformat() if post.scheduled_at else None,
                "created_at": post.created_at.isoformat(),
                # The consent in force, and every one the creator gave, oldest first.
                "consent": _consent(post.consent) if post.consent else None,
                "consents": [_consent(consent) for consent in post.consents],
                # Every try at TikTok, without the capability parts (media URL token, upload URL).
                "attempts": [
                    {
                        "number": attempt.number,
                        "source": attempt.source,
                        "state": attempt.state,
                        "publish_id": attempt.publish_id,
                        "upload_done": attempt.upload_done,
                        "error_code": attempt.error_code,
                        "log_id": attempt.log_id,
                        "created_at": attempt.created_at.isoformat(),
                        "media_url_expires_at": _iso(attempt.token_expires_at),
                        "media_url_revoked_at": _iso(attempt.token_revoked_at),
                    }
                    for attempt in sorted(post.attempts, key=lambda a: a.number)
                ],
            }
        )
    json.dumps(out)  # fail here, not in the route, if something is not JSON-ready
    return out


def delete_posts_of_person(session: Session, *, person_id: int) -> int:
    """Delete every post (with consents and attempts) of a person; returns how many."""
    posts = list_posts(session, person_id=person_id, limit=1_000_000)
    for post in posts:
        session.delete(post)
    session.flush()
    return len(posts)
