"""`whoami`, `logout`, `status` and `cancel`: the small commands around a post."""

from __future__ import annotations

from directpost.tiktok import (
    AccessTokenInvalidError,
    NotCancellableError,
    OAuthError,
    TikTokError,
)

from . import EXIT_PUBLISHED
from .accounts import AccountStore
from .home import Vault
from .output import Result, Screen, tiktok_failed
from .resume import PendingUploads
from .target import Target, register_demo_app
from .transfer import STATUS_WORDS, api_failure


def whoami(target: Target, vault: Vault, name: str) -> Result:
    """The account `post` will post to, as TikTok names it now (user info, fresh token)."""
    store = AccountStore(vault)
    account = store.signed_in(name, target)
    register_demo_app(target)
    with target.client() as client:
        account = store.fresh(account, client)
        try:
            # https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info
            user = client.user_info(access_token=account.access_token, fields=["display_name"])
        except TikTokError as exc:
            raise api_failure("the account's profile", exc, account=name) from exc
    nickname = user.display_name or account.nickname
    others = [n for n in store.names() if n != name]
    more = f" Other accounts: {', '.join(others)}." if others else ""
    return Result(
        "signed_in",
        EXIT_PUBLISHED,
        f"{nickname} (account {name!r}, on {target.where}).{more}",
        {
            "account": name,
            "nickname": nickname,
            "open_id": account.open_id,
            "accounts": store.names(),
        },
    )


def logout(target: Target, vault: Vault, name: str, screen: Screen) -> Result:
    """Revoke the token at TikTok, then delete it here, whatever TikTok answered (DG-5)."""
    store = AccountStore(vault)
    account = store.get(name)
    if account is None:
        return Result(
            "signed_out", EXIT_PUBLISHED, f"No account {name!r} is signed in.", {"account": name}
        )
    revoked = "revoked at TikTok"
    same_target = (account.client_key, account.api_base_url) == (
        target.client_key,
        target.api_base_url,
    )
    if same_target:
        register_demo_app(target)
        with target.client() as client:
            try:
                # https://developers.tiktok.com/doc/oauth-user-access-token-management
                client.revoke(access_token=account.access_token)
            except (AccessTokenInvalidError, OAuthError):
                revoked = "already invalid at TikTok"
            except TikTokError as exc:
                revoked = f"NOT revoked at TikTok ({exc}); remove the app in TikTok's settings"
                screen.warn(f"Revocation failed: {exc}")
    else:
        revoked = f"not revoked (it belongs to {account.api_base_url}, not the current target)"
    store.delete(name)
    PendingUploads(vault).drop(name)
    return Result(
        "signed_out",
        EXIT_PUBLISHED,
        f"Signed out of {name!r}: token {revoked}, and deleted here.",
        {"account": name, "revoked": revoked},
    )


def status(target: Target, vault: Vault, name: str, publish_id: str) -> Result:
    """Where a publish stands now (one status/fetch)."""
    store = AccountStore(vault)
    account = store.signed_in(name, target)
    register_demo_app(target)
    with target.client() as client:
        account = store.fresh(account, client)
        try:
            # https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status
            now = client.fetch_status(access_token=account.access_token, publish_id=publish_id)
        except TikTokError as exc:
            raise api_failure("the status", exc, publish_id=publish_id) from exc
    words = STATUS_WORDS.get(now.status, now.status)
    extra = f" ({now.fail_reason})" if now.fail_reason else ""
    ids = f"; post id {', '.join(now.post_ids)}" if now.post_ids else ""
    data = {
        "publish_id": publish_id,
        "status": now.status,
        "fail_reason": now.fail_reason,
        "post_ids": now.post_ids,
        "uploaded_bytes": now.uploaded_bytes,
        "downloaded_bytes": now.downloaded_bytes,
        "final": now.is_final,
    }
    pending = PendingUploads(vault).find(publish_id)
    if pending is not None:
        data["resumable"] = True
        ids += "; its upload is unfinished: `directpost post --resume` continues it"
    return Result("status", EXIT_PUBLISHED, f"{publish_id}: {words}{extra}{ids}.", data)


def cancel(target: Target, vault: Vault, name: str, publish_id: str) -> Result:
    """Cancel at TikTok (a download in progress; best effort) and drop a local unfinished
    upload of it, so a new post of the file may start."""
    store = AccountStore(vault)
    uploads = PendingUploads(vault)
    account = store.signed_in(name, target)
    pending = uploads.find(publish_id)
    if pending is not None:
        uploads.drop(pending.account)
    register_demo_app(target)
    with target.client() as client:
        account = store.fresh(account, client)
        try:
            # https://developers.tiktok.com/doc/content-posting-api-reference-direct-post
            client.cancel(access_token=account.access_token, publish_id=publish_id)
        except NotCancellableError as exc:
            if pending is not None:
                # An upload TikTok never got in full ends by itself; the local part is gone.
                return Result(
                    "cancelled",
                    EXIT_PUBLISHED,
                    f"Dropped the unfinished upload of {publish_id}; TikTok never received it in "
                    "full, so it ends by itself.",
                    {"publish_id": publish_id, "dropped_upload": True},
                )
            raise tiktok_failed(
                f"TikTok cannot cancel {publish_id} any more: {exc.message} (log_id {exc.log_id or '-'})",
                publish_id=publish_id,
                error={"code": exc.code, "message": exc.message, "log_id": exc.log_id},
            ) from exc
        except TikTokError as exc:
            raise api_failure("the cancel", exc, publish_id=publish_id) from exc
    return Result(
        "cancelled",
        EXIT_PUBLISHED,
        f"Cancelled {publish_id}.",
        {"publish_id": publish_id, "dropped_upload": pending is not None},
    )
