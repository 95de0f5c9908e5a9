"""Issue 15, item 8 (TOS-1): `directpost rotate-keys` re-encrypts every stored token under the
new key while the old one still decrypts; afterwards the old key can go. The error message
that names the command points at something that exists."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from directpost import tiktok
from directpost.store import accounts
from directpost.store.base import utcnow
from directpost.store.crypto import TokenCipher, TokenDecryptionError
from directpost.store.db import create_engine_from_settings, create_session_factory
from directpost.store.migrate import upgrade_database
from tests.fixtures.environment import child_environment
from tests.fixtures.live import make_app_settings


def _grant(open_id: str) -> tiktok.Token:
    return tiktok.Token.from_response(
        {
            "open_id": open_id,
            "access_token": f"act.{open_id}",
            "refresh_token": f"rft.{open_id}",
            "expires_in": 86400,
            "refresh_expires_in": 86400 * 365,
            "scope": "user.info.basic,video.publish",
            "token_type": "Bearer",
        },
        utcnow(),
    )


def _cli(settings: object, keys: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = child_environment(settings, DIRECTPOST_TOKEN_ENCRYPTION_KEY=keys)  # type: ignore[arg-type]
    return subprocess.run(
        [sys.executable, "-m", "directpost.cli", "rotate-keys", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_tos_1_rotate_keys_reencrypts_every_token_under_the_new_key(tmp_path: Path) -> None:
    old, new = TokenCipher.generate_key(), TokenCipher.generate_key()
    settings = make_app_settings(
        tmp_path,
        emulator_url="http://127.0.0.1:9",
        public_base_url="http://127.0.0.1:1",
        token_encryption_key=old,
    )
    upgrade_database(settings.resolved_database_url)
    engine = create_engine_from_settings(settings)
    factory = create_session_factory(engine)
    with factory() as session, session.begin():
        for open_id in ("creator-a", "creator-b"):
            accounts.record_sign_in(
                session,
                grant=_grant(open_id),
                profile=accounts.Profile(display_name=open_id, avatar_url=""),
                cipher=TokenCipher([old]),
                signed_in_person_id=None,
            )

    # Without the old key, nothing can be read or rotated: a clear refusal, nothing changed.
    refused = _cli(settings, new)
    assert refused.returncode == 1 and "Nothing was changed" in refused.stderr
    assert "Traceback" not in refused.stderr

    done = _cli(settings, f"{new},{old}")
    assert done.returncode == 0, done.stderr
    assert "Re-encrypted 2 account(s)" in done.stdout

    only_new, only_old = TokenCipher([new]), TokenCipher([old])
    with factory() as session:
        for account in session.scalars(select(accounts.TikTokAccount)):
            assert account.access_token_enc is not None
            assert only_new.decrypt(account.access_token_enc) == f"act.{account.open_id}"
            try:
                only_old.decrypt(account.access_token_enc)
            except TokenDecryptionError:
                pass
            else:
                raise AssertionError("the old key still decrypts a rotated token")
    engine.dispose()


def test_rotate_keys_can_make_the_new_key(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "directpost.cli", "rotate-keys", "--generate"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    TokenCipher([result.stdout.strip()])  # a valid Fernet key
    assert "rotate-keys" in result.stderr
