"""`directpost mcp`: the MCP server over stdio (an MCP client starts it as a subprocess) or over
streamable HTTP (a long-running server that clients connect to).

Over stdio, stdout carries the protocol and nothing else: every word for people goes to stderr.
Over HTTP, the server listens on 127.0.0.1 unless told otherwise, with the SDK's Host and Origin
checks on: it acts with the token for whoever reaches the port, so it is not put on a network
by default.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from typing import Final

import anyio

from directpost.agent.app_api import ApiRefused, AppApi, AppUnreachable
from directpost.agent.settings import AgentSettings
from directpost.agent.tools import build_server

MCP_PATH: Final = "/mcp"
LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})


class TokenRefused(Exception):
    """The app refused the token at start (unknown, revoked, or lacking a scope)."""


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def _check_token(api: AppApi, say: Callable[[str], None]) -> None:
    """Ask the app who the token is, so a wrong token stops the server at once instead of
    failing each tool call. An unreachable app is only a warning: it may come up later."""
    try:
        me = await api.me()
    except ApiRefused as refused:
        if refused.status in (401, 403):
            raise TokenRefused(refused.message) from None
        say(f"directpost mcp: the app answered {refused.status} ({refused.message}); going on.")
        return
    except AppUnreachable as exc:
        say(f"directpost mcp: {exc} The tools will say so until it answers.")
        return
    scopes = ", ".join(me.get("scopes", [])) or "none"
    say(
        f"directpost mcp: for the app at {api.base_url}, with the token "
        f"'{me.get('token_name', '?')}' (scopes: {scopes})."
    )
    if "prepare" not in me.get("scopes", []):
        say("directpost mcp: this token cannot upload or prepare (no 'prepare' scope); it reads.")


async def _serve_stdio(settings: AgentSettings) -> None:
    async with AppApi(settings) as api:
        await _check_token(api, _say)
        await build_server(api).run_stdio_async()


def serve_stdio(settings: AgentSettings) -> None:
    """Serve MCP on stdin/stdout until the client closes them."""
    anyio.run(_serve_stdio, settings)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: any free one), bound before serving so its URL is known."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


async def _serve_http(settings: AgentSettings, sock: socket.socket, host: str) -> None:
    import uvicorn

    async with AppApi(settings) as api:
        await _check_token(api, _say)
        app = build_server(api).streamable_http_app(streamable_http_path=MCP_PATH, host=host)
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        _say(f"directpost mcp: streamable HTTP at http://{shown}:{bound_port}{MCP_PATH}")
        if host not in LOOPBACK:
            _say(
                "directpost mcp: listening beyond this machine: anyone who reaches this port "
                "acts with the token. Put it behind authentication, or keep it on 127.0.0.1."
            )
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        await server.serve(sockets=[sock])


def serve_http(settings: AgentSettings, *, host: str, port: int) -> None:
    """Serve MCP over streamable HTTP at http://host:port/mcp until interrupted."""
    sock = bind(host, port)
    try:
        anyio.run(_serve_http, settings, sock, host)
    finally:
        sock.close()
