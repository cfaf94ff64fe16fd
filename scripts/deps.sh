#!/bin/sh
# Installs what a make target needs, only when it is missing: safe to run again and again.
# Usage: scripts/deps.sh build|arm64-build|arm64|deny|release|lint|test|demo|docker|bench
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

# cargo_need CRATE VERSION: `cargo install` it unless that version is installed.
cargo_need() {
    cargo install --list | grep -qx "$1 v$2:" && return 0
    echo "deps: installing $1 $2 from crates.io" >&2
    cargo install --locked "$1" --version "$2"
}

# The binaries embed their dependency list (`cargo auditable`), so the tested binary is the
# released one.
auditable() { cargo_need cargo-auditable 0.7.7; }

# arm64 links with zig: cargo-zigbuild and zig from PyPI, pinned (the linker is part of
# what makes the bytes), in a venv shared by every checkout ($ZIG_VENV, set by the Makefile).
arm64_build() {
    rustup target list --installed | grep -qx aarch64-unknown-linux-musl \
        || rustup target add aarch64-unknown-linux-musl
    venv=${ZIG_VENV:-$HOME/.cache/ci_base-rs/zig}
    want="cargo-zigbuild==0.24.1 ziglang==0.17.1"
    [ "$("$venv/bin/pip" freeze 2>/dev/null | grep -Ei '^(cargo-zigbuild|ziglang)==' | sort | tr '\n' ' ')" = "$want " ] && return 0
    python_venv
    echo "deps: installing $want into $venv" >&2
    python3 -m venv "$venv"
    # Word splitting of $want is intended: two requirements.
    # shellcheck disable=SC2086
    "$venv/bin/pip" install -q $want
}

# The SBOMs of a release are checked against the CycloneDX schema with CycloneDX's own
# Python library, in a venv of its own ($CYCLONEDX_VENV, set by the Makefile).
cyclonedx() {
    venv=${CYCLONEDX_VENV:-$HOME/.cache/ci_base-rs/cyclonedx}
    lib=cyclonedx-python-lib version=11.12.0
    "$venv/bin/pip" freeze 2>/dev/null | grep -qx "$lib==$version" && return 0
    python_venv
    echo "deps: installing $lib $version into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "${lib}[json-validation]==$version"
}

# Running arm64: qemu-aarch64-static for the binary's own tests, and binfmt_misc (with
# the F flag, so it works inside containers) for the arm64 images.
arm64_run() {
    apt_need qemu-aarch64-static:qemu-user-static update-binfmts:binfmt-support
    entry=/proc/sys/fs/binfmt_misc/qemu-aarch64
    grep -q '^flags:.*F' "$entry" 2>/dev/null && grep -qx enabled "$entry" && return 0
    [ -e /proc/sys/fs/binfmt_misc/register ] \
        || as_root mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
        || { echo "deps: cannot mount binfmt_misc: arm64 containers cannot run here" >&2; exit 1; }
    as_root update-binfmts --enable qemu-aarch64
    grep -q '^flags:.*F' "$entry" || { echo "deps: qemu-aarch64 is registered without the F flag" >&2; exit 1; }
}

for what in "$@"; do
    case "$what" in
        build) musl_target; apt_need musl-gcc:musl-tools file:file git:git; auditable ;;
        arm64-build) arm64_build ;;
        arm64) arm64_build; arm64_run ;;
        deny) cargo_need cargo-deny 0.20.2 ;;
        release)
            musl_target; arm64_build; auditable; cyclonedx
            apt_need musl-gcc:musl-tools file:file git:git minisign:minisign qemu-aarch64-static:qemu-user-static
            ;;
        lint) musl_target; apt_need musl-gcc:musl-tools shellcheck:shellcheck python3:python3 ;;
        test)
            musl_target
            apt_need musl-gcc:musl-tools file:file shellcheck:shellcheck dash:dash bash:bash \
                busybox:busybox-static bash-static:bash-static setpriv:util-linux dockerd:docker.io docker:docker.io npm:npm rsync:rsync git:git \
                openssl:openssl setsid:util-linux docker-registry:docker-registry \
                ssh-keygen:openssh-client /usr/sbin/sshd:openssh-server curl:curl
            python_venv
            auditable
            arm64_build
            arm64_run
            cargo_need cargo-deny 0.20.2
            ;;
        docker)
            apt_need dockerd:docker.io docker:docker.io busybox:busybox-static bash-static:bash-static \
                docker-registry:docker-registry
            ;;
        bench)
            musl_target
            apt_need musl-gcc:musl-tools /usr/bin/time:time dockerd:docker.io docker:docker.io busybox:busybox-static
            python_venv
            ;;
        demo) musl_target; apt_need musl-gcc:musl-tools file:file curl:curl ;;
        *) echo "deps: unknown target $what" >&2; exit 2 ;;
    esac
done
