#!/bin/sh
# Fetches a Debian package built for another architecture and prints the directory it is
# unpacked in, without adding that architecture to dpkg: apt runs on a private state (the
# machine's sources, their signatures checked as usual, another architecture's lists).
#   scripts/foreign-deb.sh ARCH PACKAGE      e.g. arm64 busybox-static
# Cached under target/foreign-debs/ARCH; a package already unpacked is not fetched again.
set -eu
cd "$(dirname "$0")/.."
arch=$1
package=$2
state="$PWD/target/foreign-debs/$arch"
out="$state/root/$package"
if [ -f "$out/.unpacked" ]; then
    echo "$out"
    exit 0
fi
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/debs"
: >"$state/status"
apt() {
    apt-get -q -o APT::Architecture="$arch" -o APT::Architectures::="$arch" \
        -o Dir::State::Lists="$state/lists" -o Dir::Cache="$state/cache" \
        -o Dir::State::status="$state/status" -o Debug::NoLocking=1 -o APT::Sandbox::User=root "$@"
}
# The lists are refreshed once per day at most.
if [ -z "$(find "$state/lists" -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null)" ]; then
    apt update >&2
fi
rm -f "$state/debs/${package}_"*.deb
(cd "$state/debs" && apt download "$package" >&2)
rm -rf "$out"
mkdir -p "$out"
dpkg-deb -x "$state/debs/${package}_"*.deb "$out"
touch "$out/.unpacked"
echo "$out"
