#!/bin/sh
# The main job on a built-in default: start the fake Akeyless server, log in with a
# GitLab-shaped ID token, and show what a job gets. Run by `make demo`.
set -eu
cd "$(dirname "$0")/.."

AKL=target/x86_64-unknown-linux-musl/release/akl
FAKE=target/x86_64-unknown-linux-musl/debug/examples/fake-akeyless
STATE=target/demo

cargo build --quiet --example fake-akeyless
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

say "akl auth: one request, a t- token"
token=$("$AKL" auth)
echo "token: $(preview "$token")"

say "a token for a feature branch is refused, with the claims that decide why"
AKEYLESS_JWT=$(curl -sf --cacert "$AKEYLESS_CA_CERT" -X POST -d '{"ref":"feature/x","ref_protected":"false"}' \
    "$AKEYLESS_GATEWAY_URL/_fake/jwt" | sed 's/.*"jwt":"\([^"]*\)".*/\1/') "$AKL" auth || echo "(exit $?)"
