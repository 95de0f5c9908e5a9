#!/bin/sh
# The container's entry command (Dockerfile ENTRYPOINT), and the same script a test runs on the
# host (tests/deploy/test_entrypoint.py): `entrypoint.sh serve|worker|migrate|healthcheck [ARGS]`.
#
# Settings come from DIRECTPOST_* variables; secrets as files (DIRECTPOST_<NAME>_FILE, read by
# the app itself). Three secrets of the services beside the app are read here, by the same
# <NAME>_FILE convention as the PostgreSQL and MinIO images, since their clients only read them
# from the environment: PGPASSWORD (libpq), AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (boto3).
set -eu

for name in PGPASSWORD AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; do
  eval "file=\${${name}_FILE:-}"
  if [ -n "$file" ]; then
    if [ ! -r "$file" ]; then
      echo "entrypoint: ${name}_FILE points at $file, which cannot be read" >&2
      exit 78
    fi
    value=$(cat "$file")
    export "$name=$value"
    unset "${name}_FILE"
  fi
done

command=${1:-serve}
[ $# -gt 0 ] && shift

case "$command" in
  serve)
    # exec: the app is the container's main process and receives SIGTERM itself.
    exec directpost serve "$@"
    ;;
  worker)
    # SIGTERM: running publishes reach a safe point within --grace seconds (default 30); keep
    # the container's stop timeout longer (compose.yaml: stop_grace_period).
    exec directpost worker "$@"
    ;;
  migrate)
    exec directpost migrate "$@"
    ;;
  healthcheck)
    # The image's HEALTHCHECK: /healthz of the app in this container (no curl in a slim image).
    exec python -c '
import os, sys, urllib.request
port = os.environ.get("DIRECTPOST_PORT", "8000")
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except OSError as exc:
    print(f"healthcheck: {exc}", file=sys.stderr)
    sys.exit(1)
'
    ;;
  *)
    echo "usage: entrypoint.sh serve|worker|migrate|healthcheck [ARGS...]" >&2
    echo "  (got: $command)" >&2
    exit 64
    ;;
esac
