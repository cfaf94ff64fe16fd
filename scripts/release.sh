#!/bin/sh
# `make release`: the release of HEAD in dist/, from two clean builds that must agree.
#
# HEAD is exported twice (`git archive`, so uncommitted changes never reach a release) into
# two different directories, each built for both targets with its own empty
# CARGO_TARGET_DIR. Every binary must have the same SHA-256 in both builds, be static and
# within the size budget; then dist/ gets the binaries, one CycloneDX SBOM per binary
# (checked against the dependency list `cargo auditable` embedded in it), SHA256SUMS and
# its minisign signature, and the public key to check it with.
#
# The key: MINISIGN_SECRET_KEY names the maintainer's secret key file (minisign asks for
# its password) and MINISIGN_PUBLIC_KEY its public key (default: the same path + .pub).
# Without them a throwaway key is generated under target/release-key/ and the release says
# it is a test signature. No secret key is ever written to dist/ or committed.
set -eu
cd "$(dirname "$0")/.."
start=$(date +%s)
targets="x86_64-unknown-linux-musl aarch64-unknown-linux-musl"
dist=dist
commit=$(git rev-parse --short=7 HEAD)
epoch=$(git log -1 --format=%ct HEAD)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "release: the work tree has uncommitted changes; releasing HEAD ($commit) without them" >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/akl-release.XXXXXX")
trap 'rm -rf "$work"' EXIT

# build NAME SRC TARGET_DIR: one clean build of HEAD for every target.
build() {
    mkdir -p "$2" "$3"
    git archive --format=tar HEAD | tar -x -C "$2"
    for target in $targets; do
        echo "release: build $1, $target, in $2" >&2
        # No git in an export: build.rs takes the commit from AKL_COMMIT, the Makefile the
        # time from SOURCE_DATE_EPOCH.
        AKL_COMMIT=$commit SOURCE_DATE_EPOCH=$epoch CARGO_TARGET_DIR="$3" \
            make --no-print-directory -C "$2" check-static TARGET="$target" >&2
    done
}
# version_of TARGET BINARY: what `akl --version` prints (arm64 under emulation).
version_of() {
    case "$1" in
        aarch64-*) qemu-aarch64-static "$2" --version ;;
        *) "$2" --version ;;
    esac
}

build one "$work/one/ci_base-rs" "$work/one/target"
build two "$work/second-checkout" "$work/elsewhere/build"

rm -rf "$dist"
mkdir -p "$dist"
mismatch=0
for target in $targets; do
    a="$work/one/target/$target/release/akl"
    b="$work/elsewhere/build/$target/release/akl"
    sum_a=$(sha256sum "$a" | cut -d' ' -f1)
    sum_b=$(sha256sum "$b" | cut -d' ' -f1)
    echo "release: $target: $sum_a (build one), $sum_b (build two), $(wc -c <"$a") bytes"
    if [ "$sum_a" != "$sum_b" ]; then
        echo "error: the two builds of $commit for $target differ: the build is not reproducible" >&2
        echo "hint: compare them with diffoscope $a $b" >&2
        mismatch=1
        continue
    fi
    case "$(version_of "$target" "$a")" in
        "akl $version (commit $commit, $target)") ;;
        *) echo "error: akl --version does not name $version, $commit and $target" >&2; exit 1 ;;
    esac
    cp "$a" "$dist/akl-$target"
    AKL_COMMIT=$commit SOURCE_DATE_EPOCH=$epoch python3 scripts/sbom.py "$a" "$target" >"$dist/akl-$target.cdx.json"
done
if [ "$mismatch" -ne 0 ]; then
    [ -z "${AKL_KEEP_BUILDS:-}" ] || { trap - EXIT; echo "release: builds kept in $work" >&2; }
    exit 1
fi

# Each SBOM must be valid CycloneDX 1.5 (the schema, strictly).
"${CYCLONEDX_VENV:?set by the Makefile}/bin/python" - "$dist"/akl-*.cdx.json <<'EOF'
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
for path in sys.argv[1:]:
    with open(path) as f:
        error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(f.read())
    if error is not None:
        sys.exit(f"release: {path} is not valid CycloneDX 1.5: {error}")
EOF

# The sums cover the binaries and their SBOMs.
(cd "$dist" && sha256sum akl-* >SHA256SUMS)

secret=${MINISIGN_SECRET_KEY:-}
if [ -n "$secret" ]; then
    public=${MINISIGN_PUBLIC_KEY:-$secret.pub}
    note=""
else
    mkdir -p target/release-key
    secret=target/release-key/test.key
    public=target/release-key/test.pub
    [ -f "$secret" ] || minisign -G -W -s "$secret" -p "$public" >/dev/null
    note=" (signed with a throwaway TEST key: set MINISIGN_SECRET_KEY for a real release)"
fi
# A fixed trusted comment: the signature names the release and holds no timestamp.
minisign -S -s "$secret" -m "$dist/SHA256SUMS" -x "$dist/SHA256SUMS.minisig" \
    -t "akl $version (commit $commit) SHA256SUMS" >/dev/null
cp "$public" "$dist/minisign.pub"
# What a user does with a download, done here first.
minisign -V -q -p "$dist/minisign.pub" -m "$dist/SHA256SUMS" -x "$dist/SHA256SUMS.minisig"
(cd "$dist" && sha256sum -c --quiet SHA256SUMS)

echo
echo "release: akl $version ($commit) in $dist/ after $(($(date +%s) - start)) s$note:"
(cd "$dist" && wc -c -- * && cat SHA256SUMS)
