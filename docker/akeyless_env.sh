# shellcheck shell=sh
# ~/.akeyless/akeyless_env.sh: the akeyless/ci_base script, for pipelines written for it.
#
#   export TOKEN=$(akeyless auth --access-id "$ACCESS_ID" --access-type jwt \
#       --jwt "$FIRST_ID_TOKEN" --json --jq-expression='.token')
#   source ~/.akeyless/akeyless_env.sh
#
# Sourced, it replaces every exported variable whose value is an akeyless: reference with
# the secret, in this shell. It uses $TOKEN when that holds a token; otherwise (the
# CLI's human output from `akeyless auth` without --json, or nothing) the token
# `akeyless auth` kept, as the Akeyless CLI would. AKEYLESS_API_GW_URL and the other
# AKEYLESS_* settings are honoured. Unlike the original it works in any POSIX shell, and
# a reference that cannot be resolved stops the job with the reason instead of staying in
# the variable. The values pass through a variable, never a file or a command line, and
# the job's masker learns them before they are set.
case ${TOKEN:-} in
    t-* | u-*) _akl_env=$(AKEYLESS_TOKEN=$TOKEN akl env --stdout </dev/null) ;;
    *) _akl_env=$(akl env --stdout </dev/null) ;;
esac
_akl_status=$?
if [ "$_akl_status" -eq 0 ]; then
    eval "$_akl_env"
else
    printf 'akeyless_env.sh: the akeyless: references could not be resolved (exit %s)\n' "$_akl_status" >&2
fi
unset _akl_env
# The last command's status is the status of `source`: non-zero fails a `set -e` job.
(exit "$_akl_status")
