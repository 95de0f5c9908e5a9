#!/bin/sh
# Writes the secret files compose.yaml mounts (deploy/secrets/), each once: an existing file is
# kept, so running it again never changes a key (a new token_encryption_key would make every
# stored TikTok token unreadable). Put your TikTok app's client secret in
# deploy/secrets/tiktok_client_secret yourself.
set -eu
dir=${1:-"$(dirname "$0")/secrets"}
umask 077
mkdir -p "$dir"
chmod 0700 "$dir"  # only you on the host; the files are mounted into the containers directly

write() {  # name, command that prints the value
  if [ ! -s "$dir/$1" ]; then
    sh -c "$2" > "$dir/$1"
    echo "wrote $dir/$1"
  fi
}

random='python3 -c "import secrets; print(secrets.token_urlsafe(32))"'
write token_encryption_key 'python3 -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
write session_secret "$random"
write operator_token "$random"
write postgres_password "$random"
write s3_access_key 'python3 -c "import secrets; print(secrets.token_hex(10))"'
write s3_secret_key "$random"
[ -e "$dir/tiktok_client_secret" ] || : > "$dir/tiktok_client_secret"
# The containers run as other users than yours: let them read the files (the folder stays yours).
chmod 0644 "$dir"/*
