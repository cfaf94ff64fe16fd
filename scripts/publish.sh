#!/bin/sh
# Publishes one multi-arch image: the two images built for linux/amd64 and linux/arm64
# (REPOSITORY:TAG-amd64, REPOSITORY:TAG-arm64, as `make publish` tags them), then one
# manifest list REPOSITORY:TAG that names both by digest.
#   scripts/publish.sh REPOSITORY TAG
# Tags are immutable: one that the registry already has is never pushed again, so a job
# with `pull_policy: if-not-present` cannot run a stale image under a reused name. Prints
# one line per platform with its digest, then `REPOSITORY:TAG@sha256:…` for the list.
# A registry on loopback is reached over plain HTTP (as Docker does for 127.0.0.0/8).
set -eu
repository=$1
tag=$2
case "$repository" in
    localhost[:/]* | 127.*) insecure=--insecure ;;
    *) insecure= ;;
esac

exists() {
    # Word splitting of $insecure is intended: one flag or none.
    # shellcheck disable=SC2086
    docker manifest inspect $insecure "$1" >/dev/null 2>&1
}

refs=""
for arch in amd64 arm64; do
    image="$repository:$tag-$arch"
    if exists "$image"; then
        echo "error: $image is already in the registry: tags are immutable, publish a new commit" >&2
        exit 1
    fi
    got=$(docker image inspect -f '{{.Os}}/{{.Architecture}}' "$image")
    [ "$got" = "linux/$arch" ] || { echo "error: $image is $got, not linux/$arch" >&2; exit 1; }
    docker push -q "$image" >&2
    digest=$(docker image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' "$image" \
        | sed -n "s|^$repository@||p" | head -n 1)
    [ -n "$digest" ] || { echo "error: no digest for $image after the push" >&2; exit 1; }
    refs="$refs $repository@$digest"
    echo "linux/$arch $repository@$digest"
done

list="$repository:$tag"
if exists "$list"; then
    echo "error: $list is already in the registry: tags are immutable" >&2
    exit 1
fi
# shellcheck disable=SC2086
docker manifest create $insecure "$list" $refs >/dev/null
# shellcheck disable=SC2086
list_digest=$(docker manifest push $insecure --purge "$list" | tail -n 1)
case "$list_digest" in
    sha256:*) echo "$list@$list_digest" ;;
    *) echo "error: pushing $list gave no digest: $list_digest" >&2; exit 1 ;;
esac
