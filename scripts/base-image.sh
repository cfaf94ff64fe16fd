#!/bin/sh
# Builds a tiny base image from Debian's busybox-static, for the container tests: no image
# can be pulled on a machine without internet.
#   scripts/base-image.sh [NAME] [bash] [PLATFORM]
# NAME defaults to akl-test-base:latest; `bash` adds Debian's bash-static as /bin/bash, so
# the runner's shell detection picks bash, as on images that have it. PLATFORM
# linux/arm64 takes Debian's arm64 busybox-static (scripts/foreign-deb.sh) instead of the
# machine's. Idempotent: an image built by this same script is kept; one built by an older
# version is rebuilt.
set -eu
name=${1:-akl-test-base:latest}
with=${2:-}
platform=${3:-linux/amd64}
version=$(cksum <"$0" | cut -d' ' -f1)-$with-$platform
if [ "$(docker image inspect -f '{{ index .Config.Labels "akl.base" }}' "$name" 2>/dev/null)" = "$version" ]; then
    exit 0
fi
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
# The busybox to copy, and how to run it here (arm64's under emulation) for its applet list.
emulator=""
case "$platform" in
    linux/amd64) busybox=$(command -v busybox) bash_static=$(command -v bash-static || true) ;;
    linux/arm64)
        emulator=qemu-aarch64-static
        busybox=$(sh "$(dirname "$0")/foreign-deb.sh" arm64 busybox-static)/bin/busybox
        if [ "$with" = bash ]; then
            bash_static=$(sh "$(dirname "$0")/foreign-deb.sh" arm64 bash-static)/bin/bash-static
        fi
        ;;
    *) echo "base-image: unknown platform $platform" >&2; exit 2 ;;
esac
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root" "$rootfs/usr/local/bin"
cp "$busybox" "$rootfs/bin/busybox"
for applet in $($emulator "$busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done
if [ "$with" = bash ]; then
    cp "$bash_static" "$rootfs/bin/bash"
fi
# nobody: a second user for the tests that another uid is refused.
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"
if [ "$platform" = linux/amd64 ]; then
    tar -C "$rootfs" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change "LABEL akl.base=$version" \
        --change 'CMD ["/bin/sh"]' - "$name" >/dev/null
else
    # `docker import` records the engine's own architecture; a build from scratch records
    # the platform asked for.
    context=$(mktemp -d)
    trap 'rm -rf "$rootfs" "$context"' EXIT
    tar -C "$rootfs" -cf "$context/rootfs.tar" .
    printf '%s\n' 'FROM scratch' 'ADD rootfs.tar /' \
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        "LABEL akl.base=$version" 'CMD ["/bin/sh"]' >"$context/Dockerfile"
    docker build -q --platform "$platform" -t "$name" "$context" >/dev/null
fi
echo "built $name ($platform) from $busybox${with:+ with $with}" >&2
