#!/bin/sh
# Builds a tiny base image from Debian's busybox-static, for the container tests: no image
# can be pulled on a machine without internet.
#   scripts/base-image.sh [NAME] [bash]
# NAME defaults to akl-test-base:latest; `bash` adds Debian's bash-static as /bin/bash, so
# the runner's shell detection picks bash, as on images that have it. Idempotent: an image
# built by this same script is kept; one built by an older version is rebuilt.
set -eu
name=${1:-akl-test-base:latest}
with=${2:-}
version=$(cksum <"$0" | cut -d' ' -f1)-$with
if [ "$(docker image inspect -f '{{ index .Config.Labels "akl.base" }}' "$name" 2>/dev/null)" = "$version" ]; then
    exit 0
fi
busybox=$(command -v busybox)
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root" "$rootfs/usr/local/bin"
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done
if [ "$with" = bash ]; then
    cp "$(command -v bash-static)" "$rootfs/bin/bash"
fi
# nobody: a second user for the tests that another uid is refused.
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"
tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL akl.base=$version" \
    --change 'CMD ["/bin/sh"]' - "$name" >/dev/null
echo "built $name from $busybox${with:+ with $with}" >&2
