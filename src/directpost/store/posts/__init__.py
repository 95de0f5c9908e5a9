"""The durable state of publishing: posts with their consent records, publish attempts and
their media URLs, webhook de-duplication, caps counts, and the database as the job queue.

One module per thing held (`models`, `records`, `attempts`, `queue`, `caps`, `calendar`,
`webhook_events`, `data_rights`, `figures`); this package names what the other parts use, so they read
`store.get_post(...)`, `store.claim_due_posts(...)`. No function here talks to TikTok, and no
function moves a post between states except through the statements guarded by
`publishing.states.TRANSITIONS` (`publishing.lifecycle` moves loaded posts).
"""

from __future__ import annotations

from directpost.store.posts.attempts import (
    MediaGrant,
    PostToStart,
    attempt_states,
    cancel_requested,
    claim_end,
    confirm_attempt,
    insert_attempt,
    mark_publishing,
    mark_unanswered_ambiguous,
    media_for_token,
    new_attempt,
    post_to_start,
    record_media_served,
    revoke_attempt_url,
    start_tracking,
)
from directpost.store.posts.calendar import (
    PlacedPost,
    creators_per_day,
    latest_time_zone,
    posts_between,
)
from directpost.store.posts.caps import CapStanding, DayPlan, cap_standing, day_plan
from directpost.store.posts.data_rights import delete_posts_of_person, export_posts
from directpost.store.posts.figures import (
    OperatorFigures,
    QueueFigures,
    operator_figures,
    queue_figures,
)
from directpost.store.posts.models import (
    Post,
    PostConsent,
    PublishAttempt,
    PublishLease,
    RateBudgetHit,
    WebhookEvent,
)
from directpost.store.posts.queue import (
    claim_due_posts,
    claim_post,
    clear_enqueued,
    end_run,
    lease_holder,
    release_lease,
    renew_lease,
    renew_post_claim,
    try_take_lease,
)
from directpost.store.posts.records import (
    PostProgress,
    add_consent,
    create_post,
    due_post_ids,
    get_post,
    list_posts,
    post_by_publish_id,
    post_progress,
    unfinished_posts_for_account,
    unfinished_posts_for_open_id,
)
from directpost.store.posts.webhook_events import record_webhook_event

__all__ = [
    "CapStanding",
    "DayPlan",
    "MediaGrant",
    "OperatorFigures",
    "PlacedPost",
    "Post",
    "PostConsent",
    "PostProgress",
    "PostToStart",
    "PublishAttempt",
    "PublishLease",
    "QueueFigures",
    "RateBudgetHit",
    "WebhookEvent",
    "add_consent",
    "attempt_states",
    "cancel_requested",
    "cap_standing",
    "claim_due_posts",
    "claim_end",
    "claim_post",
    "clear_enqueued",
    "confirm_attempt",
    "create_post",
    "creators_per_day",
    "day_plan",
    "delete_posts_of_person",
    "due_post_ids",
    "end_run",
    "export_posts",
    "get_post",
    "insert_attempt",
    "latest_time_zone",
    "lease_holder",
    "list_posts",
    "mark_publishing",
    "mark_unanswered_ambiguous",
    "media_for_token",
    "new_attempt",
    "operator_figures",
    "post_by_publish_id",
    "post_progress",
    "post_to_start",
    "posts_between",
    "queue_figures",
    "record_media_served",
    "record_webhook_event",
    "release_lease",
    "renew_lease",
    "renew_post_claim",
    "revoke_attempt_url",
    "start_tracking",
    "try_take_lease",
    "unfinished_posts_for_account",
    "unfinished_posts_for_open_id",
]
