"""The durable publish pipeline: from a consented post to TikTok's final answer.

- `states`: the names of a post's states and the table of allowed moves (a leaf: the store's SQL
  is guarded by it); `lifecycle`: moves, the questions pages ask, TikTok's answer applied.
- `service`: what the web app asks (record a consented post, reschedule, cancel, re-confirm).
- `pipeline`: the run loop that takes one post one step further, from what the database says;
  `start` (lease, caps, fresh creator_info, init, upload), `init_request` (the init in the
  library's types), `track` (status/fetch), `context` (what a job runs with).
- `policy`: the caps' counts as the rules' `AppPolicy` (one query).
- `worker`: runner threads fed by a dispatcher that claims due posts from the database (the
  queue), `start_in_process`, `directpost worker`.
- `wiring`: the composition root: `Settings` → `Services` (database, cipher, TikTok client,
  budgets, media store), built once by the web app and once by each worker process.
- `tokens`: a usable access token, refreshed under a lease when it expires soon.
- `budgets`: per-token request budgets shared by every process (CAP-4).
- `webhooks`: verified, de-duplicated TikTok events applied through `lifecycle`.
- `outcomes`: what each TikTok answer means for a post, in the creator's words.
- `drafts`: the stored choices to and from `rules.Draft`; creator_info as `rules.CreatorFacts`.
"""
