"""`directpost post`: every rule of the Post page, from the same `rules` calls, before anything
is sent; then the consent record, and the transfer (`transfer`).

Order, as on the page: fresh creator_info (UX-1) and the nickname shown (UX-1a); a creator who
cannot post stops here (UX-1b); the files checked (TECH-3, UX-1c); privacy chosen by the user
with no default (UX-2b: asked on a terminal, an error in a script); `rules.validate` (caps,
interactions, disclosure, branded content never "Only me"); the label and the exact
declaration printed (UX-3a, UX-2d, UX-4); an explicit yes (UX-5c); only then the init.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from directpost.rules import (
    NO_MEDIA,
    ComposeState,
    CreatorFacts,
    Draft,
    Violation,
    compose_state,
    validate,
)
from directpost.tiktok import CreatorCannotPostError, TikTokClient, TikTokError

from .accounts import Account, AccountStore
from .choices import (
    Options,
    ask_privacy,
    blocked_facts,
    check_media,
    creator_facts,
    draft_of,
    media_kind,
)
from .consent import ConsentLog, shown_of
from .home import Vault
from .output import Result, Screen, refused
from .photos import PhotoHost
from .resume import PendingUploads, same_file
from .target import Target, register_demo_app
from .transfer import Follow, api_failure, follow_to_end, init_photos, send_video, upload_and_follow


@dataclass
class PostContext:
    """Everything `post` needs from outside: where, who, how to talk to the person."""

    target: Target
    vault: Vault
    screen: Screen
    account_name: str
    interactive: bool
    ask: Callable[[str], str]
    photo_bind: tuple[str, int] = ("127.0.0.1", 0)
    photo_public_base: str | None = None
    follow: Follow = field(default_factory=Follow)


def _violations_words(violations: list[Violation]) -> str:
    lines = [f"  {v.rule}: {v.message}" for v in violations]
    return "Not posted: nothing was sent to TikTok.\n" + "\n".join(lines)


def _refuse(violations: list[Violation]) -> Exception:
    return refused(
        _violations_words(violations),
        violations=[{"rule": v.rule, "message": v.message, "field": v.field} for v in violations],
    )


def fetch_creator(client: TikTokClient, account: Account) -> CreatorFacts:
    """creator_info now, never from a cache (UX-1); a creator who cannot post is `blocked`."""
    try:
        # https://developers.tiktok.com/doc/content-posting-api-reference-query-creator-info
        info = client.creator_info(access_token=account.access_token)
    except CreatorCannotPostError as exc:
        return blocked_facts(exc, account.nickname)
    except TikTokError as exc:
        raise api_failure("creator_info", exc) from exc
    return creator_facts(info)


def show_summary(screen: Screen, state: ComposeState, draft: Draft, files: list[Path]) -> None:
    """What will be posted, the label and the exact declaration (UX-3a, UX-2d, UX-4)."""
    say = screen.say
    say("")
    say(
        f"  {'Photos' if draft.media.kind == 'photos' else 'Video'}: "
        + ", ".join(f.name for f in files)
    )
    say(f"  Title: {draft.title or '(none)'}")
    if draft.media.kind == "photos" and draft.description:
        say(f"  Description: {draft.description}")
    if state.privacy_shown:
        label = next((c.label for c in state.privacy_options if c.selected), "")
        say(f"  Who can see it: {label}")
        shown = [t for t in state.interactions if t.shown]
        say("  " + ", ".join(f"{t.label}: {'on' if t.checked else 'off'}" for t in shown))
    if state.disclosure.label_prompt:
        say(f"  {state.disclosure.label_prompt}")
    for notice in state.notices:
        say(f"  {notice}")
    say("")
    say(state.declaration.text)
    for part in state.declaration.parts:
        if not isinstance(part, str):
            say(f"  {part.text}: {part.href}")


def confirm(ctx: PostContext, yes: bool) -> str:
    """An explicit yes after the declaration (UX-5c): --yes, or y typed on a terminal."""
    if yes:
        return "--yes"
    if not ctx.interactive:
        raise refused(
            "Not posted: nothing was sent. Read the declaration above, then confirm with --yes "
            "(this is not a terminal, so it cannot ask)."
        )
    answer = ctx.ask("Post it now? Type y to post, anything else to stop").strip().lower()
    if answer not in ("y", "yes"):
        raise refused("Not posted: you did not confirm. Nothing was sent.")
    return "typed y"


def post(ctx: PostContext, files: list[Path], options: Options, *, yes: bool) -> Result:
    """Check everything, ask, record consent, send; the result or a `Stop`."""
    screen, target = ctx.screen, ctx.target
    store, uploads, consents = (
        AccountStore(ctx.vault),
        PendingUploads(ctx.vault),
        ConsentLog(ctx.vault.folder),
    )
    pending = uploads.get(ctx.account_name)
    if pending is not None:
        raise refused(
            f"An upload of {pending.path} (publish id {pending.publish_id}) is not finished: "
            "continue it with `directpost post --resume`, or drop it with "
            f"`directpost cancel {pending.publish_id}`. Nothing was sent.",
            publish_id=pending.publish_id,
        )
    kind = media_kind(files)
    if kind == "photos" and not target.demo and not ctx.photo_public_base:
        raise refused(
            "TikTok takes photos only from a URL under a prefix verified for the app: set "
            "DIRECTPOST_MEDIA_PUBLIC_BASE_URL to one that reaches DIRECTPOST_HOST:PORT on this "
            "machine, or post photos from the app. Nothing was sent."
        )
    account = store.signed_in(ctx.account_name, target)
    if target.demo:
        register_demo_app(target)
    with target.client() as client:
        account = store.fresh(account, client)
        facts = fetch_creator(client, account)
        who = facts.nickname or account.nickname
        handle = f" (@{facts.username})" if facts.username else ""
        screen.say(f"Posting to {who}{handle} on {target.where}")
        media = NO_MEDIA if facts.blocked else check_media(kind, files, facts)
        draft = draft_of(options, media)
        policy = consents.policy(
            open_id=account.open_id, audited=target.audited, creator_cap=target.creator_cap
        )
        state = compose_state(facts, draft, policy)
        if state.blocked:
            raise _refuse(list(state.violations))
        if draft.mode == "direct" and draft.privacy_level is None:
            if not ctx.interactive:
                raise refused(
                    "Not posted: choose who can see this post with --privacy (no default: "
                    + ", ".join(f"{c.label!r}" for c in state.privacy_options if not c.disabled)
                    + " for this account). Nothing was sent.",
                    violations=[
                        {
                            "rule": "UX-2b",
                            "message": "Choose who can see this post.",
                            "field": "privacy_level",
                        }
                    ],
                )
            draft = ask_privacy(state, draft, ctx.ask, screen.say)
            state = compose_state(facts, draft, policy)
        violations = validate(facts, draft, policy)
        if violations:
            raise _refuse(violations)
        show_summary(screen, state, draft, files)
        confirmed_by = confirm(ctx, yes)
        consent_id = consents.record_consent(
            account=account.name,
            open_id=account.open_id,
            creator=facts,
            draft=draft,
            shown=shown_of(state),
            files=[{"name": f.name, "size": f.stat().st_size} for f in files],
            confirmed_by=confirmed_by,
        )
        if kind == "video":
            return send_video(
                client=client,
                account=account,
                draft=draft,
                path=files[0],
                consent_id=consent_id,
                consents=consents,
                uploads=uploads,
                screen=screen,
                target=target,
                follow=ctx.follow,
                username=facts.username,
            )
        with PhotoHost(files, bind=ctx.photo_bind, public_base=ctx.photo_public_base) as host:
            if target.demo:
                register_demo_app(target, photo_prefix=host.verified_prefix)
            started = init_photos(client, account, draft, host.urls)
            consents.record_started(
                consent_id=consent_id,
                open_id=account.open_id,
                mode=draft.mode,
                publish_id=started.publish_id,
            )
            screen.say(f"TikTok accepted the post: publish id {started.publish_id}")
            # The photos are served until TikTok has them: until the status leaves the download.
            return follow_to_end(
                client,
                account,
                started.publish_id,
                screen,
                target,
                ctx.follow,
                username=facts.username,
            )


def resume(ctx: PostContext, files: list[Path]) -> Result:
    """`--resume`: the stored upload, to the same URL, from the host's offset; no second init."""
    store, uploads = AccountStore(ctx.vault), PendingUploads(ctx.vault)
    pending = uploads.get(ctx.account_name)
    if pending is None:
        raise refused(f"No unfinished upload for account {ctx.account_name!r}: nothing to resume.")
    path = Path(pending.path)
    if files and [f.resolve() for f in files] != [path]:
        raise refused(
            f"The unfinished upload is of {pending.path}, not of {', '.join(map(str, files))}."
        )
    if not same_file(pending, path):
        raise refused(
            f"{pending.path} changed (or is gone) since its upload began, so it cannot be "
            f"resumed. Drop it with `directpost cancel {pending.publish_id}` and post again.",
            publish_id=pending.publish_id,
        )
    account = store.signed_in(ctx.account_name, ctx.target)
    ctx.screen.say(f"Resuming publish {pending.publish_id}: {path.name}")
    with ctx.target.client() as client:
        account = store.fresh(account, client)
        return upload_and_follow(
            client, account, pending, path, uploads, ctx.screen, ctx.target, ctx.follow
        )
