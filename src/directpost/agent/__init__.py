"""directpost's MCP server (`directpost mcp`, issue 18): tools an AI agent uses to prepare posts
that the creator then reviews, chooses and confirms in the app.

It is a client of the app's prepared-posts API (`/api/v1`) with a personal access token, and
nothing more: it imports no part of the app (web, store, publishing) nor the emulator, so it can
run on another machine than the app, and it can do only what the token can do through the API.
No tool publishes, because no API route can (UX-5c): the creator confirms on the Post page.

- `settings`: where the app is and which token to use (environment or command-line options);
- `app_api`: the API over HTTP, the package's only module that imports httpx2;
- `media_upload`: a local file sent in chunks, resumed from where the app's bytes end;
- `tools`: the tools, their descriptions (an agent reads them) and the MCP server;
- `running`: the stdio and streamable-HTTP transports.
"""
