#!/bin/sh
# The main job on a built-in default: start the fake Akeyless server, log in with a
# GitLab-shaped ID token, and show what a job gets. Run by `make demo`.
set -eu
cd "$(dirname "$0")/.."

AKL=target/x86_64-unknown-linux-musl/release/akl
FAKE=target/x86_64-unknown-linux-musl/release/fake-akeyless
# Absolute: akl refuses a relative env file (it would land in the checkout).
STATE="$PWD/target/demo"

# The release profile: the fake shares every dependency akl's own build compiled already.
cargo build --quiet --release --locked -p fake-akeyless
rm -rf "$STATE"
mkdir -p "$STATE"
"$FAKE" --state-dir "$STATE" >"$STATE/fake.log" 2>&1 &
fake_pid=$!
trap 'kill "$fake_pid" 2>/dev/null || true' EXIT INT TERM
i=0
until [ -s "$STATE/env" ]; do
    i=$((i + 1))
    [ "$i" -lt 100 ] || { echo "demo: the fake server did not start:" >&2; cat "$STATE/fake.log" >&2; exit 1; }
    sleep 0.1
done

if [ -t 1 ]; then bold='\033[1m' plain='\033[0m'; else bold='' plain=''; fi
say() { printf "\n${bold}== %s${plain}\n" "$*"; }
# A secret shown the way the demo may show one: its first four characters and its length.
preview() { printf '%.4s… (%s chars)' "$1" "${#1}"; }

# The job's environment: what GitLab would set from .gitlab-ci.yml and id_tokens.
# shellcheck disable=SC1091
. "$STATE/env"
say "fake Akeyless at $AKEYLESS_GATEWAY_URL, ID token for grp/app@main in AKEYLESS_JWT"
echo "akl $("$AKL" --version | cut -d' ' -f2), $(wc -c <"$AKL" | tr -d ' ') bytes, $(file -b "$AKL" | cut -d, -f1-4)"

say "the job's variables: references, as in .gitlab-ci.yml"
export DB_PASSWORD=akeyless://ci/db-password
export APP_PASSWORD='akeyless://ci/app-config#password'
export MYSQL_USER='akeyless://ci/mysql#user'
export MYSQL_PASSWORD='akeyless://ci/mysql#password'
export ADMIN_PASSWORD='akeyless://ci/rotated-db#password'
export OLD_TOKEN='akeyless:/ci/versioned|version=1'
env | grep '=akeyless:' | sort
# The demo writes next to the fake, not into your ~/.akeyless.
export AKEYLESS_ENV_FILE="$STATE/akeyless.env"

say "akl env: one login, one batch for the static secrets, one call for the dynamic one"
"$AKL" env
echo "file: $AKEYLESS_ENV_FILE ($(stat -c %a "$AKEYLESS_ENV_FILE"), $(wc -l <"$AKEYLESS_ENV_FILE") lines)"
curl -sf --cacert "$AKEYLESS_CA_CERT" "$AKEYLESS_GATEWAY_URL/_fake/log" | sed 's/.*"counts":\({[^}]*}\).*/requests seen by the fake: \1/'
echo

say "akl run: a command gets the values, its output shows them masked"
# The single quotes are the point: the command, not this script, expands the variables.
# shellcheck disable=SC2016
"$AKL" run -- sh -c 'echo "connecting with $DB_PASSWORD"; printf %s "$MYSQL_PASSWORD" | base64; echo "admin: $ADMIN_PASSWORD" >&2'

say ". the env file: the job has its secrets"
# shellcheck disable=SC1090
. "$AKEYLESS_ENV_FILE"
for var in DB_PASSWORD APP_PASSWORD MYSQL_USER MYSQL_PASSWORD ADMIN_PASSWORD OLD_TOKEN; do
    eval "value=\$$var"
    # shellcheck disable=SC2154
    printf '  %-15s %s\n' "$var" "$(preview "$value")"
done

say "a reference that cannot be resolved fails the job and names the variable"
DEPLOY_KEY=akeyless://ci/deploy-key "$AKL" env || echo "(exit $?: the env file above is untouched)"

say "akl auth: the token, for scripts that need one"
echo "token: $(preview "$("$AKL" auth)")"

say "a token for a feature branch is refused, with the claims that decide why"
feature_jwt=$(curl -sf --cacert "$AKEYLESS_CA_CERT" -X POST -d '{"ref":"feature/x","ref_protected":"false"}' \
    "$AKEYLESS_GATEWAY_URL/_fake/jwt" | sed 's/.*"jwt":"\([^"]*\)".*/\1/')
AKEYLESS_JWT=$feature_jwt DB_PASSWORD=akeyless://ci/db-password "$AKL" env || echo "(exit $?)"
