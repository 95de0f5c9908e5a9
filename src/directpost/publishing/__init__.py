"""The durable publish pipeline: from a consented post to TikTok's final answer.

- `service`: what the web app asks (record a consented post, reschedule, cancel, re-confirm).
- `pipeline`: the job that takes one post one step further, from what the database says.
- `worker`: runner threads fed by a dispatcher that claims due posts from the database (the
  queue), `start_in_process`, `directpost worker`.
- `wiring`: the composition root: `Settings` → `Services` (database, cipher, TikTok client,
  budgets, media store), built once by the web app and once by each worker process.
- `tokens`: a usable access token, refreshed under a lease when it expires soon.
- `budgets`: per-token request budgets shared by every process (CAP-4).
- `webhooks`: verified, de-duplicated TikTok events applied to posts and accounts.
- `outcomes`: what each TikTok answer means for a post, in the creator's words.
- `drafts`: the stored choices to and from `rules.Draft` and the library's types.
"""
