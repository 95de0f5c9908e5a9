"""`directpost login`: Login Kit for Desktop with PKCE and a loopback redirect on a free port.

https://developers.tiktok.com/doc/login-kit-desktop: the browser is sent to the consent page
with a hex SHA-256 `code_challenge`; TikTok redirects to `http://127.0.0.1:<port>/callback/`
where a one-request server waits; the `state` must be the one sent (a callback from anywhere
else is refused and nothing is exchanged), then the code is exchanged with the verifier.
"""

from __future__ import annotations

import http.server
import secrets
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from directpost.tiktok import APIError, OAuthError, TikTokError, new_code_verifier

from .accounts import Account, AccountStore
from .output import Result, Screen, refused, tiktok_failed
from .target import CALLBACK_PATH, Target, register_demo_app

_PAGE = (
    "<!doctype html><meta charset=utf-8><title>directpost</title>"
    "<body style='font-family:sans-serif;margin:3em'><h1>{title}</h1><p>{text}</p></body>"
)


@dataclass
class Callback:
    """What arrived at the loopback redirect."""

    params: dict[str, str]


class _CallbackServer(http.server.HTTPServer):
    callback: Callback | None = None
    done: threading.Event


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _CallbackServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH:
            self.send_error(404)
            return
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if self.server.callback is None:
            self.server.callback = Callback(params)
        ok = "code" in params
        body = _PAGE.format(
            title="Signed in" if ok else "Not signed in",
            text="You can close this tab and go back to the terminal."
            if ok
            else "TikTok did not sign you in; the terminal says why.",
        ).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.done.set()

    def log_message(self, format: str, *args: Any) -> None:
        return None  # the terminal is the user's screen, not a server log


def wait_for_callback(server: _CallbackServer, timeout: float) -> Callback | None:
    """Serve the loopback redirect until one callback came or `timeout` seconds passed."""
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        server.done.wait(timeout)
    finally:
        server.shutdown()
        thread.join(5)
    return server.callback


def login(
    *,
    target: Target,
    store: AccountStore,
    name: str,
    screen: Screen,
    open_browser: bool,
    timeout: float,
    browser: Callable[[str], Any] = webbrowser.open,
) -> Result:
    """Sign `name` in through the browser; stores the account and says who it is."""
    register_demo_app(target)
    server = _CallbackServer(("127.0.0.1", 0), _Handler)
    server.done = threading.Event()
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}{CALLBACK_PATH}"
    state = secrets.token_urlsafe(24)
    verifier = new_code_verifier()
    with target.client() as client, server:
        url = client.desktop_authorize_url(
            redirect_uri=redirect_uri, scopes=target.scopes, state=state, code_verifier=verifier
        )
        screen.warn(f"Sign in to {target.where} in your browser:")
        screen.warn(url)
        if open_browser:
            browser(url)
        screen.warn(f"Waiting up to {timeout:g} s for the browser to come back to {redirect_uri}")
        callback = wait_for_callback(server, timeout)
        if callback is None:
            raise refused(f"No answer from the browser within {timeout:g} s; nothing was stored.")
        params = callback.params
        if not secrets.compare_digest(params.get("state", ""), state):
            # Not the answer to our request (CSRF or a stale tab): never exchange its code.
            raise refused(
                "The sign-in answer did not carry the state this login sent, so it was ignored "
                "and nothing was stored. Run `directpost login` again."
            )
        if "error" in params:
            raise refused(
                f"TikTok did not sign you in: {params['error']} "
                f"{params.get('error_description', '')}".strip()
            )
        try:
            # https://developers.tiktok.com/doc/oauth-user-access-token-management
            token = client.exchange_code(
                code=params.get("code", ""), redirect_uri=redirect_uri, code_verifier=verifier
            )
            # https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info
            user = client.user_info(
                access_token=token.access_token, fields=["open_id", "display_name"]
            )
        except (OAuthError, APIError) as exc:
            raise tiktok_failed(
                f"TikTok refused the sign-in: {exc}", log_id=getattr(exc, "log_id", "")
            ) from exc
        except TikTokError as exc:
            raise tiktok_failed(f"TikTok could not be reached: {exc}") from exc
    account = Account.from_token(name, token, nickname=user.display_name or "", target=target)
    store.save(account)
    who = account.nickname or account.open_id
    return Result(
        "signed_in",
        0,
        f"Signed in as {who} (account {name!r}); `directpost post` will post there.",
        {"account": name, "nickname": account.nickname, "open_id": account.open_id},
    )
