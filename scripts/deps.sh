#!/bin/sh
# Installs what a make target needs, only when it is missing: safe to run again and again.
# Usage: scripts/deps.sh build|lint|test|demo|docker|bench
# Uses sudo only when not root; apt lists are refreshed only if an install fails without.
set -eu

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_need CMD:PACKAGE... installs the packages whose command is not on PATH.
apt_need() {
    missing=""
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
    done
    [ -n "$missing" ] || return 0
    echo "deps: installing$missing" >&2
    # Word splitting of $missing is intended: it is a list of package names.
    # shellcheck disable=SC2086
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing \
        || { as_root apt-get update -q && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing; }
}

musl_target() {
    rustup target list --installed | grep -qx x86_64-unknown-linux-musl \
        || rustup target add x86_64-unknown-linux-musl
}

python_venv() {
    apt_need python3:python3
    python3 -c 'import ensurepip, venv' 2>/dev/null || apt_need __venv__:python3-venv
}

for what in "$@"; do
    case "$what" in
        build) musl_target; apt_need musl-gcc:musl-tools file:file ;;
        lint) musl_target; apt_need musl-gcc:musl-tools shellcheck:shellcheck python3:python3 ;;
        test)
            musl_target
            apt_need musl-gcc:musl-tools file:file shellcheck:shellcheck dash:dash bash:bash \
                busybox:busybox-static bash-static:bash-static setpriv:util-linux dockerd:docker.io docker:docker.io npm:npm rsync:rsync git:git \
                openssl:openssl setsid:util-linux
            python_venv
            ;;
        docker) apt_need dockerd:docker.io docker:docker.io busybox:busybox-static bash-static:bash-static ;;
        bench)
            musl_target
            apt_need musl-gcc:musl-tools /usr/bin/time:time dockerd:docker.io docker:docker.io busybox:busybox-static
            python_venv
            ;;
        demo) musl_target; apt_need musl-gcc:musl-tools file:file curl:curl ;;
        *) echo "deps: unknown target $what" >&2; exit 2 ;;
    esac
done
