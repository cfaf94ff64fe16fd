#!/bin/sh
# A Docker engine for the container tests, private to this checkout.
#   scripts/dockerd.sh start   start it unless it already answers (idempotent)
#   scripts/dockerd.sh stop    stop it and wait until it is gone
# The data root lives under target/ (the build directory); the socket is
# target/docker/docker.sock, which the tests use when DOCKER_HOST is unset. No bridge and
# no iptables: this machine has neither, and containers use --network host.
set -eu
cd "$(dirname "$0")/.."
root="$PWD/target/docker"
sock="$root/docker.sock"
pidfile="$root/dockerd.pid"
# containerd's socket paths must stay short: the exec root is not under the checkout.
exec_root="${TMPDIR:-/tmp}/akl-dockerd-$(printf '%s' "$root" | cksum | cut -d' ' -f1)"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

answers() {
    DOCKER_HOST="unix://$sock" docker version >/dev/null 2>&1
}

case "${1:-}" in
    start)
        if answers; then exit 0; fi
        mkdir -p "$root"
        set -- dockerd --bridge=none --iptables=false --ip6tables=false \
            --data-root "$root/data" --exec-root "$exec_root" --pidfile "$pidfile" \
            --host "unix://$sock"
        # Started directly, not through a function, so no shell lingers as its parent.
        if [ "$(id -u)" -eq 0 ]; then
            "$@" >"$root/dockerd.log" 2>&1 &
        else
            # The log belongs to the invoking user, who opens it; dockerd runs as root.
            # shellcheck disable=SC2024
            sudo "$@" >"$root/dockerd.log" 2>&1 &
        fi
        i=0
        until answers; do
            i=$((i + 1))
            if [ "$i" -gt 150 ]; then
                echo "dockerd did not start; its log:" >&2
                tail -n 30 "$root/dockerd.log" >&2
                exit 1
            fi
            sleep 0.2
        done
        [ "$(id -u)" -eq 0 ] || as_root chmod 666 "$sock"
        ;;
    stop)
        [ -f "$pidfile" ] || exit 0
        pid=$(cat "$pidfile")
        as_root kill "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null; do
            i=$((i + 1))
            [ "$i" -lt 150 ] || { as_root kill -9 "$pid" 2>/dev/null || true; break; }
            sleep 0.2
        done
        # dockerd leaves its default network namespace mounted in the exec root; unmount
        # it so nothing of this engine outlives the stop.
        if grep -qF " $exec_root/netns/default " /proc/mounts; then
            as_root umount "$exec_root/netns/default" || true
        fi
        as_root rm -rf "$exec_root"
        ;;
    *)
        echo "usage: $0 start|stop" >&2
        exit 2
        ;;
esac
