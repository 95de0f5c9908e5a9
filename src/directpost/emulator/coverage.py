"""The coverage table (endpoint × behaviour → the test that proves it), as data.

``python -m directpost.emulator.coverage`` prints it as Markdown; docs/emulator.md embeds that
output, and a test fails when the two drift apart or a named test no longer exists.
"""

from __future__ import annotations

COVERAGE: list[tuple[str, str, str]] = [
    # (endpoint, behaviour, test in tests/emulator/)
    (
        "GET /v2/auth/authorize/",
        "consent page: demo creators, toggleable scopes, allow/deny",
        "test_consent_page_lists_demo_creators_and_requested_scopes",
    ),
    (
        "GET /v2/auth/authorize/",
        "redirect with code, scopes, state",
        "test_allowing_returns_code_scopes_and_state_and_code_exchanges_once",
    ),
    ("GET /v2/auth/authorize/", "access_denied", "test_denying_redirects_with_access_denied"),
    (
        "GET /v2/auth/authorize/",
        "unregistered redirect URI: page, never a redirect",
        "test_unregistered_redirect_uri_is_shown_as_a_page_not_redirected",
    ),
    (
        "GET /v2/auth/authorize/",
        "unsupported_response_type, invalid_scope, unauthorized_client, temporarily_unavailable",
        "test_authorize_errors_redirect_with_the_documented_codes",
    ),
    (
        "POST /v2/oauth/token/",
        "authorization_code: single use",
        "test_allowing_returns_code_scopes_and_state_and_code_exchanges_once",
    ),
    (
        "POST /v2/oauth/token/",
        "PKCE: hex SHA-256 challenge",
        "test_pkce_challenge_is_checked_as_hex_sha256",
    ),
    (
        "POST /v2/oauth/token/",
        "code expiry on the emulator clock",
        "test_authorization_code_expires_with_emulator_time",
    ),
    (
        "POST /v2/oauth/token/",
        "invalid_client, unsupported_grant_type, invalid_request, server_error; JSON refused",
        "test_token_endpoint_error_shapes",
    ),
    (
        "POST /v2/oauth/token/",
        "error HTTP status configurable (§11.1)",
        "test_token_error_http_status_is_configurable",
    ),
    (
        "POST /v2/oauth/token/",
        "refresh_token rotation, old one refused",
        "test_refresh_rotates_and_the_old_refresh_token_stops_working",
    ),
    (
        "POST /v2/oauth/token/",
        "client_credentials: client token (clt., 7200 s, Bearer), no user endpoint takes it",
        "test_client_credentials_grant_gives_a_two_hour_client_token_in_the_documented_shape",
    ),
    (
        "POST /v2/oauth/revoke/",
        "token revoked; invalid_request",
        "test_revoke_invalidates_the_token",
    ),
    (
        "POST /v2/oauth/revoke/",
        "invalid_client, invalid_request (also for JSON), injected 503; flat OAuth shape",
        "test_revoke_errors_use_the_flat_oauth_shape",
    ),
    (
        "POST /v2/oauth/revoke/",
        "authorization.removed webhook (reason 5)",
        "test_webhooks_are_retried_until_200_and_every_attempt_is_recorded",
    ),
    (
        "GET /v2/user/info/",
        "fields by scope; scope_permission_missed; scope_not_authorized; invalid_params; avatar image",
        "test_user_info_returns_requested_fields_and_checks_their_scopes",
    ),
    (
        "any API endpoint",
        "access_token_invalid (missing, expired after 24 h)",
        "test_access_token_expires_after_a_day_of_emulator_time",
    ),
    (
        "any API endpoint",
        "malformed Authorization header → 400 invalid_params",
        "test_malformed_authorization_header_is_invalid_params",
    ),
    (
        "every Bearer endpoint",
        "access_token_invalid: unknown, revoked, expired token (401, data {})",
        "test_unknown_revoked_or_expired_token_is_access_token_invalid",
    ),
    (
        "every Bearer endpoint",
        "scope_not_authorized without the needed scope (401)",
        "test_token_without_the_needed_scope_is_scope_not_authorized",
    ),
    (
        "every Bearer endpoint",
        "rate_limit_exceeded: per token, sliding minute (429), recorded as refused",
        "test_rate_limit_is_per_token_per_sliding_minute",
    ),
    (
        "every Bearer endpoint",
        "injected internal_error 500 and 502 in the envelope, next call only",
        "test_injected_server_errors_use_the_envelope",
    ),
    (
        "every Bearer endpoint",
        "the matrix above lists every Bearer route",
        "test_every_bearer_endpoint_of_the_emulator_is_in_the_matrix",
    ),
    (
        "token, user/info, status/fetch, revoke",
        "official examples: exactly the documented keys",
        "test_official_token_user_info_status_and_revoke_examples_have_the_documented_shapes",
    ),
    (
        "POST creator_info/query/",
        "blocked codes with HTTP 200",
        "test_creator_info_blocked_codes_come_with_http_200",
    ),
    (
        "POST creator_info/query/",
        "private account, comments/duet/stitch off, 60 s maximum",
        "test_creator_info_of_private_and_restricted_creators",
    ),
    (
        "POST creator_info/query/",
        "scope_not_authorized; 20/min sliding window → 429",
        "test_creator_info_needs_video_publish_and_is_limited_to_20_per_minute",
    ),
    ("POST creator_info/query/", "documented response fields", "test_creator_info_example_shape"),
    (
        "POST video/init/",
        "invalid_params / invalid_param (configurable), chunk rules, invalid_file_upload",
        "test_video_init_validation_errors_use_the_configured_code",
    ),
    (
        "POST video/init/",
        "403s: posts cap, banned, privacy mismatch, URL ownership; 401 scope",
        "test_video_init_403s",
    ),
    (
        "POST video/init/",
        "posting cap 15 per creator per 24 h",
        "test_posting_cap_of_15_per_creator_per_day",
    ),
    (
        "POST video/init/",
        "6/min per token and per endpoint",
        "test_init_is_limited_to_6_per_minute_per_token",
    ),
    (
        "POST video/init/",
        "unaudited: private accounts only, SELF_ONLY only, 5 creators / 24 h",
        "test_unaudited_app_rules",
    ),
    (
        "POST video/init/",
        "unaudited non-SELF_ONLY downgrade (configurable)",
        "test_unaudited_non_self_only_can_be_downgraded_instead",
    ),
    ("POST video/init/", "creator cap of an audited app", "test_audited_app_creator_cap"),
    (
        "POST video/init/",
        "official example + worked chunk example",
        "test_official_video_init_example_and_worked_chunk_example_replay",
    ),
    (
        "POST video/init/",
        "answer lost after the init happened (drop fault, not logged as a crash)",
        "test_dropped_answer_after_an_init_leaves_an_ambiguous_publish",
    ),
    (
        "POST inbox/video/init/",
        "invalid_params, banned, URL ownership, scope, 6/min → 429, 5 pending shares",
        "test_inbox_init_errors",
    ),
    (
        "POST inbox/video/init/",
        "SEND_TO_USER_INBOX, creator posts the draft, INBOX_SHARE webhooks",
        "test_inbox_upload_goes_to_the_inbox_and_the_creator_can_post_it",
    ),
    (
        "POST inbox/video/init/",
        "a draft posted again: another post and public id, complete sent again",
        "test_an_inbox_draft_posted_twice_becomes_two_posts_with_two_public_ids",
    ),
    (
        "POST inbox/video/init/",
        "a direct post cannot be posted from the inbox",
        "test_a_direct_post_cannot_be_posted_again_from_the_inbox",
    ),
    (
        "POST video/init/, content/init/",
        "is_aigc (video post_info, photo top level): boolean, stored, labelled on the profile",
        "test_is_aigc_is_checked_stored_and_labelled_on_the_profile",
    ),
    (
        "POST content/init/",
        "invalid_params, app_version_check_failed, every 403, 401, 429, 5xx",
        "test_content_init_errors",
    ),
    (
        "POST content/init/",
        "photos pulled and probed; JPEG/WebP, ≤ 1080p; photo_pull_failed",
        "test_photo_post_is_pulled_checked_and_shown_on_the_profile",
    ),
    (
        "POST content/init/",
        "official photo example",
        "test_official_whole_upload_and_photo_examples_replay",
    ),
    (
        "POST status/fetch/",
        "invalid_publish_id, token_not_authorized…, 401s, 5xx, 30/min",
        "test_status_fetch_errors",
    ),
    (
        "POST status/fetch/",
        "19-digit post ids as bare JSON numbers",
        "test_good_public_video_from_audited_app_gets_a_19_digit_post_id_as_a_bare_number",
    ),
    (
        "POST status/fetch/",
        "no public id unless audited + PUBLIC_TO_EVERYONE",
        "test_private_or_unaudited_posts_get_no_public_post_id",
    ),
    (
        "POST status/fetch/",
        "public id and publicly_available after moderation (emulator clock)",
        "test_public_post_id_and_its_webhook_wait_for_moderation_on_the_emulator_clock",
    ),
    (
        "POST status/fetch/",
        "made private during moderation: never public, no event",
        "test_a_post_made_private_during_moderation_never_becomes_public",
    ),
    ("POST status/fetch/", "progression after N polls", "test_progression_after_n_polls"),
    (
        "POST status/fetch/",
        "progression after T seconds of emulator time",
        "test_progression_after_t_seconds_follows_the_emulator_clock",
    ),
    (
        "POST cancel/",
        "publish_not_cancellable, invalid_publish_id, token_not_authorized…, url_ownership_unverified, 401, 5xx, 429",
        "test_cancel_errors",
    ),
    (
        "POST cancel/",
        "cancel a download → FAILED publish_cancelled + webhook",
        "test_cancel_stops_a_download_and_sends_the_failure_webhook",
    ),
    (
        "POST /v2/video/query/",
        "the creator's public videos by id: share_url, embed_link, cover, fields asked for",
        "test_video_query_gives_share_urls_of_the_creators_public_videos_only",
    ),
    (
        "POST /v2/video/query/",
        "listed once moderation passed",
        "test_video_query_lists_a_public_video_only_once_it_passed_moderation",
    ),
    (
        "POST /v2/video/query/",
        "invalid_params (fields, 1–20 string ids, filters); scope video.list",
        "test_video_query_refuses_bad_requests_with_invalid_params",
    ),
    (
        "PUT upload_url",
        "206 … 201 with Content-Range progress; bytes kept (SHA-256)",
        "test_chunked_upload_answers_206_then_201_with_progress_and_keeps_the_bytes",
    ),
    (
        "PUT upload_url",
        "416 with progress header",
        "test_out_of_order_chunk_gets_416_with_the_progress_header",
    ),
    (
        "PUT upload_url",
        "400 malformed headers / wrong sizes",
        "test_malformed_chunks_get_400_and_change_nothing",
    ),
    ("PUT upload_url", "404 unknown upload", "test_unknown_or_forged_upload_url_is_404"),
    (
        "PUT upload_url",
        "403 after one hour of emulator time",
        "test_upload_url_expires_after_one_hour_of_emulator_time",
    ),
    (
        "PUT upload_url",
        "dropped connection mid-chunk; 5xx; resume",
        "test_dropped_connection_mid_upload_keeps_no_bytes_and_the_upload_resumes",
    ),
    (
        "PUT upload_url",
        "whole upload (4 MiB example); in-process ASGI",
        "test_in_process_app_serves_a_whole_file_upload",
    ),
    (
        "PUT upload_url",
        "streamed to disk under the data dir",
        "test_upload_is_streamed_to_disk_under_the_data_dir",
    ),
    (
        "PUT upload_url",
        "memory does not grow with the chunk (64 MiB chunk, tracemalloc)",
        "test_a_64_mib_chunk_is_received_without_holding_it_in_memory",
    ),
    (
        "processing",
        "frame_rate / picture_size / file_format check failures",
        "test_uploaded_video_breaking_tiktok_rules_fails_with_the_documented_reason",
    ),
    (
        "processing",
        "duration over the creator's maximum",
        "test_video_longer_than_the_creators_maximum_fails_duration_check",
    ),
    (
        "processing",
        "internal, spam_risk, spam_risk_text, spam_risk_too_many_posts, spam_risk_user_banned_from_posting via the processing fault",
        "test_forced_fail_reason_through_the_processing_fault",
    ),
    (
        "processing",
        "auth_removed when access is revoked mid-processing",
        "test_revoke_during_processing_fails_the_publish_with_auth_removed",
    ),
    (
        "PULL_FROM_URL",
        "download with downloaded_bytes",
        "test_pull_downloads_the_url_and_publishes_it",
    ),
    (
        "PULL_FROM_URL",
        "404 or redirect → video_pull_failed",
        "test_pull_of_a_missing_or_redirecting_url_fails_video_pull_failed",
    ),
    ("PULL_FROM_URL", "1-hour timeout", "test_pull_that_does_not_finish_within_an_hour_fails"),
    (
        "PULL_FROM_URL",
        "downloaded_bytes while the download runs",
        "test_pull_reports_the_bytes_downloaded_so_far",
    ),
    (
        "PULL_FROM_URL",
        "stalled download: FAILED after 1 h of emulator time, connection closed",
        "test_stalled_pull_fails_after_one_hour_of_emulator_time_and_hangs_up",
    ),
    (
        "PULL_FROM_URL",
        "cancel of a stalled download closes the connection",
        "test_cancelling_a_stalled_pull_hangs_up_the_download",
    ),
    (
        "PULL_FROM_URL",
        "pulled media probed: 15 fps video, photo over 20 MB",
        "test_pulled_media_is_probed_like_uploaded_media",
    ),
    (
        "PULL_FROM_URL",
        "TikTok's sample video URL: no verification, a generated 3-min video, no network",
        "test_tiktoks_sample_video_url_needs_no_verified_prefix_and_is_served_without_the_network",
    ),
    (
        "webhooks",
        "TikTok-Signature, envelope, complete + publicly_available",
        "test_webhooks_are_signed_with_the_client_secret_as_documented",
    ),
    (
        "webhooks",
        "retried until 200, attempts recorded",
        "test_webhooks_are_retried_until_200_and_every_attempt_is_recorded",
    ),
    ("webhooks", "retries bounded", "test_webhook_retries_are_bounded"),
    (
        "webhooks",
        "no_longer_publicaly_available",
        "test_making_a_post_private_sends_no_longer_publicaly_available",
    ),
    (
        "webhooks",
        "retries on the emulator clock: 1 min doubling, up to 72 h",
        "test_retries_follow_tiktoks_backoff_on_the_emulator_clock_for_up_to_72_hours",
    ),
    (
        "webhooks",
        "no retry past the retry window",
        "test_retries_stop_when_the_72_hour_window_is_over",
    ),
    (
        "webhooks",
        "duplicate fault: the same event twice",
        "test_duplicate_fault_sends_the_same_signed_event_twice",
    ),
    (
        "webhooks",
        "delay fault: held for emulator seconds",
        "test_delay_fault_holds_the_event_for_emulator_seconds",
    ),
    (
        "webhooks",
        "reorder fault: held events sent newest first",
        "test_reorder_fault_sends_the_held_events_newest_first",
    ),
    (
        "webhooks",
        "webhook faults explain what they take",
        "test_webhook_faults_explain_what_they_take",
    ),
    (
        "POST /_emulator/webhooks/test",
        "the portal's test event: signed, sent once, answer returned",
        "test_portal_test_event_is_signed_sent_once_and_its_answer_returned",
    ),
    (
        "/_emulator/",
        "clear errors for bad control requests",
        "test_control_plane_explains_bad_requests",
    ),
    ("/_emulator/", "reset restores the demo world", "test_reset_brings_back_the_demo_world"),
    (
        "/_emulator/",
        "inspector profile: media, caption, privacy, labels",
        "test_inspector_shows_what_landed_on_the_profile",
    ),
    ("/_emulator/", "delay fault", "test_delay_fault_slows_the_next_call_only"),
    (
        "/_emulator/",
        "every control-plane route documented with its answer",
        "test_every_control_plane_route_is_documented_with_its_answer",
    ),
    (
        "--seed",
        "apps, creators and config from a file, applied again on reset",
        "test_the_example_seed_file_seeds_its_world_and_a_reset_brings_it_back",
    ),
    (
        "--seed",
        "a bad file: its line and key named, exit 2",
        "test_a_bad_seed_is_refused_naming_the_file_line_and_key",
    ),
    (
        "--state-dir",
        "every saved field and shared object comes back",
        "test_every_saved_field_and_shared_object_comes_back",
    ),
    (
        "--state-dir",
        "SIGTERM restart: token, post, media, clock kept; an upload resumes",
        "test_state_survives_a_sigterm_restart_and_an_upload_resumes_where_it_was",
    ),
    (
        "--state-dir",
        "SIGKILL: what the last save wrote is there",
        "test_after_a_sigkill_what_the_last_save_wrote_is_there",
    ),
    (
        "--record, --replay",
        "a whole post recorded, then replayed with the same answers and no upstream",
        "test_a_recorded_whole_post_is_replayed_with_the_same_answers_and_no_upstream",
    ),
    ("--record", "no secret in the file", "test_the_recording_keeps_no_secret"),
    (
        "--replay",
        "an unmatched request: a 501 that names it",
        "test_a_request_the_recording_cannot_answer_gets_a_501_that_names_it",
    ),
    (
        "docs/emulator.md",
        "the curl walk-through runs as written",
        "test_the_curl_walkthrough_posts_a_video_as_written",
    ),
    (
        "compliance log",
        "a compliant client gets no verdict (strict)",
        "test_a_compliant_client_gets_no_verdict_in_strict_mode",
    ),
    (
        "compliance log",
        "UX-1 init without creator_info → 400 compliance_verdict",
        "test_ux_1_init_without_creator_info_is_flagged_and_strict_refuses_it",
    ),
    (
        "compliance log",
        "UX-2b privacy outside creator_info's options → 403 privacy_level_option_mismatch",
        "test_ux_2b_privacy_outside_the_last_creator_info_options_is_flagged_and_strict_refuses_it",
    ),
    (
        "compliance log",
        "UX-2c interaction creator_info disabled → 400",
        "test_ux_2c_an_interaction_creator_info_disabled_is_flagged_and_strict_refuses_it",
    ),
    (
        "compliance log",
        "UX-3c branded content SELF_ONLY → 400",
        "test_ux_3c_branded_content_with_self_only_is_flagged_and_strict_refuses_it",
    ),
    (
        "compliance log",
        "TECH-1 client_secret in a query or Referer → 400",
        "test_tech_1_client_secret_in_a_query_or_referer_is_flagged_and_strict_refuses_it",
    ),
    (
        "compliance log",
        "CAP-4 over the rate limit (429)",
        "test_cap_4_requests_over_the_rate_limit_are_flagged_with_tiktoks_429",
    ),
    (
        "compliance log",
        "TECH-2 chunk rule breaks at init and upload",
        "test_tech_2_chunk_rule_breaks_are_flagged_at_init_and_at_the_upload_host",
    ),
    (
        "compliance log",
        "TECH-2 FILE_UPLOAD of pulled media → 400, FAILED",
        "test_tech_2_file_upload_of_media_pulled_from_the_apps_url_is_flagged_and_strict_refuses_it",
    ),
    (
        "compliance log",
        "UX-5e polling after a final status → 400",
        "test_ux_5e_fetching_a_final_status_again_and_again_is_flagged_and_strict_refuses_it",
    ),
    (
        "/_emulator/compliance",
        "JSON filters, clear, reset; inspector page",
        "test_the_log_filters_clears_resets_and_leaves_the_control_plane_out",
    ),
]


def render() -> str:
    """The coverage table as Markdown."""
    lines = ["| endpoint | behaviour | test |", "|---|---|---|"]
    lines += [f"| `{e}` | {b} | `{t}` |" for e, b, t in COVERAGE]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
