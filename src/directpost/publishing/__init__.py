"""The durable publish pipeline: from a consented post to TikTok's final answer.

- `service`: what the web app asks (record a consented post, reschedule, cancel, re-confirm).
- `pipeline`: the job that takes one post one step further, from what the database says.
- `worker`: the Huey queue, worker threads, the sweeper, `start_in_process`, `directpost worker`.
- `budgets`: per-token request budgets shared by every process (CAP-4).
- `webhooks`: verified, de-duplicated TikTok events applied to posts and accounts.
- `outcomes`: what each TikTok answer means for a post, in the creator's words.
- `drafts`: the stored choices to and from `rules.Draft` and the library's types.
"""
