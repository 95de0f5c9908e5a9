"""The names of a post's (and a publish attempt's) states and the moves allowed between them.

Data only, importing nothing of ours: the store's SQL guards its state-changing statements with
`TRANSITIONS` (a row in a state the table does not allow to move changes nothing), and
`publishing.lifecycle` moves loaded posts by the same table. What the states mean for the
creator, and the questions pages ask of them, live in `lifecycle`; this is the leaf both read.
"""

from __future__ import annotations

from typing import Final

# --- a post ------------------------------------------------------------------------------------

#: A post not stored yet (the source of the first move).
NEW: Final = ""
SCHEDULED: Final = "scheduled"  # waiting for its time
QUEUED: Final = "queued"  # due; a job will pick it up
PUBLISHING: Final = "publishing"  # a job is talking to TikTok (token, creator_info, init, transfer)
PROCESSING: Final = "processing"  # TikTok has a publish_id and is processing it
NEEDS_CONFIRMATION: Final = "needs_confirmation"  # creator's settings changed; must re-confirm
TRY_LATER: Final = "try_later"  # a TikTok cap said "not now" (CAP-3): never retried blindly
PUBLISHED: Final = "published"  # PUBLISH_COMPLETE (direct post)
SENT_TO_INBOX: Final = "sent_to_inbox"  # SEND_TO_USER_INBOX: final for drafts
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"
DISCONNECTED: Final = "disconnected"  # authorization removed / account disconnected (DG-5)
HELD: Final = "held"  # the operator stopped all traffic to TikTok (lockdown, TOS-2)

POST_STATES: Final = (
    SCHEDULED,
    QUEUED,
    PUBLISHING,
    PROCESSING,
    NEEDS_CONFIRMATION,
    TRY_LATER,
    PUBLISHED,
    SENT_TO_INBOX,
    FAILED,
    CANCELLED,
    DISCONNECTED,
    HELD,
)

#: States in which nothing more will happen without the creator acting.
FINAL_STATES: Final = frozenset(
    {
        PUBLISHED,
        SENT_TO_INBOX,
        FAILED,
        CANCELLED,
        DISCONNECTED,
        TRY_LATER,
        NEEDS_CONFIRMATION,
        HELD,
    }
)
#: States in which a worker still has something to do.
ACTIVE_STATES: Final = frozenset({QUEUED, PUBLISHING, PROCESSING})
#: States a job looks at when they are due (a scheduled post's time has come, too).
DUE_STATES: Final = (SCHEDULED, QUEUED, PUBLISHING, PROCESSING)
#: Not started yet: nothing of the post has reached TikTok in this round.
WAITING_STATES: Final = (SCHEDULED, QUEUED)
#: A job in one of these states starts (or goes on starting) the publish; else it tracks.
STARTING_STATES: Final = (SCHEDULED, QUEUED, PUBLISHING)
#: TikTok may hold a publish of the post: its answers (status, webhooks) apply.
WITH_TIKTOK_STATES: Final = frozenset({PUBLISHING, PROCESSING, SENT_TO_INBOX, HELD})

#: Every move a post may make; anything else is refused (`lifecycle.move`) or changes no row
#: (the store's guarded statements).
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    # Stored with its consent record: now, or at its time.
    NEW: frozenset({SCHEDULED, QUEUED}),
    # Rescheduled or re-confirmed by the creator, taken by a job, cancelled; a job that finds
    # the account disconnected (or the post gone wrong before any request) ends it.
    # A lockdown holds every post that has not ended (TOS-2).
    SCHEDULED: frozenset({SCHEDULED, QUEUED, PUBLISHING, CANCELLED, DISCONNECTED, FAILED, HELD}),
    QUEUED: frozenset({SCHEDULED, QUEUED, PUBLISHING, CANCELLED, DISCONNECTED, FAILED, HELD}),
    # The init answered (tracking starts), or TikTok's answer arrived before tracking did
    # (a webhook during an upload), or the start ended: caps, changed settings, errors.
    # Queued again: TikTok could not pull the media while our media service was not sending
    # it; TikTok ended that publish, so a new attempt cannot duplicate it (bounded, lifecycle).
    PUBLISHING: frozenset(
        {
            QUEUED,
            PROCESSING,
            PUBLISHED,
            SENT_TO_INBOX,
            FAILED,
            CANCELLED,
            DISCONNECTED,
            TRY_LATER,
            NEEDS_CONFIRMATION,
            HELD,
        }
    ),
    # TikTok's answer: done, in the inbox, or one of its failures (fail_reason); queued again
    # after a pull that failed for want of our bytes (as from PUBLISHING).
    PROCESSING: frozenset(
        {QUEUED, PUBLISHED, SENT_TO_INBOX, FAILED, CANCELLED, DISCONNECTED, TRY_LATER, HELD}
    ),
    # The creator confirms again (queued anew) or gives up.
    NEEDS_CONFIRMATION: frozenset({SCHEDULED, QUEUED, CANCELLED}),
    TRY_LATER: frozenset({SCHEDULED, QUEUED, CANCELLED}),
    # Confirmed again after the lockdown (a publish TikTok already has is only followed, never
    # sent twice: `start` tracks a confirmed attempt), or TikTok's word that it went out; a
    # failure TikTok reports meanwhile (its pull was refused) leaves it held for the creator.
    HELD: frozenset({SCHEDULED, QUEUED, CANCELLED, PUBLISHED, SENT_TO_INBOX}),
    # A draft the creator then posted from the TikTok app.
    SENT_TO_INBOX: frozenset({PUBLISHED}),
    PUBLISHED: frozenset(),
    # Sent again by the creator, only where TikTok provably did not publish it (init refused,
    # pull or processing failed, nothing ambiguous left: `lifecycle.retry_refusal`).
    FAILED: frozenset({SCHEDULED, QUEUED}),
    CANCELLED: frozenset(),
    DISCONNECTED: frozenset(),
}


def sources(target: str) -> tuple[str, ...]:
    """The states from which a post may move to `target` (for guarded SQL)."""
    return tuple(s for s in POST_STATES if target in TRANSITIONS[s])


# --- a publish attempt (architecture.md "No duplicate posts") ---------------------------------

INIT_SENT: Final = "init_sent"  # written BEFORE the init request leaves
AMBIGUOUS: Final = "ambiguous"  # the init's answer was lost: may or may not exist at TikTok
CONFIRMED: Final = "confirmed"  # TikTok answered with a publish_id, stored before anything else
REJECTED: Final = "rejected"  # TikTok answered the init with an error: nothing exists there
FINISHED: Final = "finished"  # a confirmed publish that TikTok ended; the post was confirmed anew

ATTEMPT_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    NEW: frozenset({INIT_SENT}),
    INIT_SENT: frozenset({CONFIRMED, AMBIGUOUS, REJECTED}),
    CONFIRMED: frozenset({FINISHED}),
    AMBIGUOUS: frozenset(),
    REJECTED: frozenset(),
    FINISHED: frozenset(),
}

#: Attempt states that mean the post reached TikTok (or may have: an unanswered init counts).
REACHED_TIKTOK: Final = (CONFIRMED, AMBIGUOUS, INIT_SENT, FINISHED)


def attempt_sources(target: str) -> tuple[str, ...]:
    """The attempt states from which an attempt may move to `target` (for guarded SQL)."""
    return tuple(s for s, targets in ATTEMPT_TRANSITIONS.items() if s and target in targets)
