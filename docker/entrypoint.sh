#!/bin/sh
# Entrypoint of ci_base-rs:alpine.
#
# GitLab Runner keeps the image's ENTRYPOINT, passes its shell-detection command as the
# arguments, and then writes the job script to the container's stdin. So this script
# resolves the job's akeyless: references into ~/.akeyless/env and then becomes that
# command with `exec`, through `akl run`, which masks the secrets in the job's output
# (GitLab masks only what it knew before the job started), passes stdin on untouched,
# forwards signals, returns the job's exit code and reaps orphans as PID 1. It never reads
# stdin, never prints a secret, and never traces (no set -x: it would print them).
# docs/gitlab.md has the runner facts this relies on.
set -u

# Outside a GitLab job (GitLab's native steps start the image with none of the job's
# variables; a plain `docker run`), there is nothing to set up: pass through, silently.
if [ -z "${GITLAB_CI:-}" ] && [ -z "${AKEYLESS_ACCESS_ID:-}" ] && [ -z "${AKEYLESS_TOKEN:-}" ]; then
    exec "$@"
fi

# GitLab's job log does not tell stdout from stderr, but Docker's attach stream reorders
# one against the other: one stream keeps the job's lines (and `set -x` traces) in the
# order they were written.
exec 2>&1

note() { printf 'ci_base-rs: %s\n' "$*" >&2; }

# Starts the job shell under `akl run` with the options given before `--`: the masker
# masks the values it starts with and every value registered later (`akeyless auth`,
# `akl get`, `akl mask`, `source ~/.akeyless/akeyless_env.sh`). AKEYLESS_MASK=false runs
# it unmasked: akl then becomes the shell, unless something is left to do when it ends
# (revoking the credentials dynamic secrets minted for the stage).
run_job() {
    case $(printf '%s' "${AKEYLESS_MASK:-true}" | tr '[:upper:]' '[:lower:]') in
        false | 0 | no | off) exec akl run --no-mask "$@" ;;
    esac
    exec akl run "$@"
}

# `source ~/.akeyless/env` and `source ~/.akeyless/akeyless_env.sh` must work in the job,
# so HOME has to be writable: an arbitrary --user has HOME=/ (no passwd entry), and a
# read-only root filesystem has no writable HOME at all. Then a private directory under
# TMPDIR becomes HOME for the job. Writability is probed by writing: `test -w` says yes
# to root on a read-only filesystem.
home_writable() {
    [ -n "${HOME:-}" ] || return 1
    (umask 077 && mkdir -p "$HOME/.akeyless" && : >"$HOME/.akeyless/.probe" && rm -f "$HOME/.akeyless/.probe") 2>/dev/null
}
# The fallback must be ours alone: on a shared /tmp another user could have made it first,
# with an env file and a PATH of their choosing inside.
private_dir() {
    mkdir -m 700 "$1" 2>/dev/null || true
    [ -d "$1" ] && [ ! -L "$1" ] && [ "$(stat -c '%u %a' "$1")" = "$(id -u) 700" ]
}
if ! home_writable; then
    old_home=${HOME:-(unset)}
    HOME="${TMPDIR:-/tmp}/akl-$(id -u)"
    export HOME
    if ! private_dir "$HOME"; then
        note "$HOME exists but is not a private directory of uid $(id -u) (another user may have made it): refusing to use it as HOME"
        exit 2
    fi
    home_writable || { note "neither HOME ($old_home) nor $HOME is writable"; exit 1; }
    note "HOME $old_home is not writable; HOME is $HOME for this job"
fi
# The legacy script, in whatever HOME the job has (the image puts it in root's).
if [ ! -f "$HOME/.akeyless/akeyless_env.sh" ]; then
    cp /usr/local/share/ci_base-rs/akeyless_env.sh "$HOME/.akeyless/akeyless_env.sh" 2>/dev/null \
        || note "cannot put akeyless_env.sh into $HOME/.akeyless"
fi

has_references() {
    # Values may span lines, so a continuation line can match too; akl then finds no
    # references and says so. Nothing is printed here either way.
    env | grep -q '^[A-Za-z_][A-Za-z0-9_]*=akeyless:'
}

if [ -z "${AKEYLESS_ACCESS_ID:-}" ] && [ -z "${AKEYLESS_TOKEN:-}" ]; then
    # A job that does not use Akeyless gets its shell, masked. One that has references but
    # no credentials is a ci_base pipeline that logs in itself later (`akeyless auth`,
    # then `source ~/.akeyless/akeyless_env.sh`): what it fetches is masked from then on.
    if has_references; then
        note "akeyless: references found but AKEYLESS_ACCESS_ID is not set; leaving them for ~/.akeyless/akeyless_env.sh"
    fi
    run_job --no-resolve -- "$@"
fi

section() {
    # A collapsed section in the GitLab job log: $1 start|end, $2 the header.
    case "$1" in
        start) printf '\033[0Ksection_start:%s:akeyless_secrets[collapsed=true]\r\033[0K%s\n' "$(date +%s)" "$2" >&2 ;;
        end) printf '\033[0Ksection_end:%s:akeyless_secrets\r\033[0K\n' "$(date +%s)" >&2 ;;
    esac
}

# The runner starts the same container again for after_script; `akl env --reuse` keeps the
# file written for the same references, so nothing is fetched twice (unless the script's
# dynamic credentials were revoked when it ended). akl prints only
# notes and errors, never values; stdin is closed to it on purpose.
if output=$(akl env --reuse 2>&1 </dev/null); then
    # The summary (akl's last line) is the section's header; the rest goes inside.
    summary=$(printf '%s\n' "$output" | tail -n 1)
    section start "Akeyless secrets: ${summary#akl: }"
    printf '%s\n' "$output" | sed '$d' >&2
    section end
else
    status=$?
    printf '%s\n' "$output" >&2
    note "resolving Akeyless secrets failed (exit $status); the job stops here"
    exit "$status"
fi

# The values just written, not a second fetch. When the stage's shell ends, the
# credentials dynamic secrets minted for it are revoked (AKEYLESS_REVOKE=false keeps
# them); after_script, a stage of its own, then fetches its own.
run_job --env-file="${AKEYLESS_ENV_FILE:-$HOME/.akeyless/env}" --revoke -- "$@"
