#!/bin/sh
# Builds a tiny base image from Debian's busybox-static, for the container tests: no image
# can be pulled on a machine without internet. Idempotent: an existing image is kept.
#   scripts/base-image.sh [NAME]    (default akl-test-base:latest)
set -eu
name=${1:-akl-test-base:latest}
if docker image inspect "$name" >/dev/null 2>&1; then
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
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\n' >"$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"
tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/sh"]' - "$name" >/dev/null
echo "built $name from $busybox" >&2
