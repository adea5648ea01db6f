#!/usr/bin/env bash
# Build a PostgreSQL 15 image equivalent (for our purposes) to the official
# `postgres:15`, from Debian bookworm packages only, for hosts that can reach
# Debian's mirrors but no container registry: mmdebstrap builds the root
# filesystem, `docker build` wraps it FROM scratch. See README.md here.
#
#   bash docker/postgres/build-image.sh
#
# Environment:
#   TOMBSTONE_PG_IMAGE    image name to build        (tombstone-harness/postgres:15)
#   TOMBSTONE_PG_REBUILD  set to 1 to rebuild even if the image is up to date
#   TOMBSTONE_PG_JIT      set to 1 to keep PostgreSQL's LLVM JIT (+~160 MB)
#   TOMBSTONE_PG_MIRROR   Debian mirror (default: deb.debian.org plus -updates and
#                         -security; a custom mirror gets just the bookworm suite)
#
# Cheap when the image already exists: one `docker image inspect`, then exit 0.
# The image carries a hash of this script and the entrypoint; if either one
# changes, the image is rebuilt. An image of that name not built by this
# script (e.g. a real `postgres:15` tagged with that name) is left alone.
set -euo pipefail

IMAGE="${TOMBSTONE_PG_IMAGE:-tombstone-harness/postgres:15}"
SUITE=bookworm
PG_MAJOR=15
PGDATA_DIR=/var/lib/postgresql/data
LABEL_KIND=org.tombstone-harness.image
LABEL_RECIPE=org.tombstone-harness.recipe

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
entrypoint="$here/docker-entrypoint.sh"

log() { printf 'build-image: %s\n' "$*" >&2; }
die() { printf 'build-image: error: %s\n' "$*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "the docker CLI is not installed"
[[ -r "$entrypoint" ]] || die "missing $entrypoint"

# Everything that determines the image's content, so that edits trigger a rebuild.
recipe="$(cat "${BASH_SOURCE[0]}" "$entrypoint" | sha256sum | cut -c1-16)-jit${TOMBSTONE_PG_JIT:-0}"

# --- fast path -------------------------------------------------------------
if found="$(docker image inspect --format \
        "{{index .Config.Labels \"$LABEL_KIND\"}}|{{index .Config.Labels \"$LABEL_RECIPE\"}}|{{.Id}}" \
        "$IMAGE" 2>/dev/null)"; then
    kind="${found%%|*}"; rest="${found#*|}"; have_recipe="${rest%%|*}"; old_id="${rest#*|}"
    if [[ "$kind" != postgres ]]; then
        log "$IMAGE exists and was not built by this script; leaving it alone"
        exit 0
    fi
    if [[ "$have_recipe" == "$recipe" && "${TOMBSTONE_PG_REBUILD:-0}" != 1 ]]; then
        log "$IMAGE is up to date (recipe $recipe); nothing to do"
        exit 0
    fi
    log "$IMAGE exists but is stale (recipe ${have_recipe:-none} != $recipe) or a rebuild was requested; rebuilding"
else
    docker info >/dev/null 2>&1 \
        || die "cannot reach the Docker daemon (is it running? is DOCKER_HOST right?)"
    old_id=""
    log "$IMAGE not found; building it"
fi

# --- prerequisites ---------------------------------------------------------
if ! command -v mmdebstrap >/dev/null 2>&1; then
    log "mmdebstrap not found; installing it with apt-get"
    sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "mmdebstrap is missing and we are not root: apt-get install mmdebstrap"
        sudo=(sudo)
    fi
    command -v apt-get >/dev/null 2>&1 || die "mmdebstrap is missing and this host has no apt-get"
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/tombstone-pg-image.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# --- root filesystem -------------------------------------------------------
# Paths dropped at unpack time: documentation and translations are never
# read in a test container. locale.alias is kept for localedef.
dpkg_opts=(
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/lintian/*'
    --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-include=/usr/share/locale/locale.alias'
)
if [[ "${TOMBSTONE_PG_JIT:-0}" != 1 ]]; then
    # postgresql-15 hard-depends on libllvm14 for its JIT provider. Without
    # llvmjit.so the server just runs with JIT unavailable (jit=on is then a
    # no-op, as in a build without --with-llvm), and LLVM's ~160 MB go away.
    dpkg_opts+=(
        --dpkgopt="path-exclude=/usr/lib/postgresql/$PG_MAJOR/lib/llvmjit*"
        --dpkgopt="path-exclude=/usr/lib/postgresql/$PG_MAJOR/lib/bitcode/*"
        --dpkgopt='path-exclude=/usr/lib/*/libLLVM-*'
        --dpkgopt='path-exclude=/usr/lib/*/libz3.so*'
    )
fi

q_entrypoint="$(printf '%q' "$entrypoint")"
q_version_file="$(printf '%q' "$tmp/pg-version")"
hooks=(
    # The package's postinst creates a "main" cluster under /var/lib/postgresql/15
    # and /etc/postgresql/15; the entrypoint runs initdb itself, into $PGDATA.
    --customize-hook="rm -rf \"\$1/var/lib/postgresql/$PG_MAJOR\" \"\$1/etc/postgresql/$PG_MAJOR\""
    # Same default locale as the official image (LANG=en_US.utf8).
    --customize-hook='chroot "$1" localedef -i en_US -c -f UTF-8 -A /usr/share/locale/locale.alias en_US.UTF-8'
    --customize-hook="install -d -o 0 -g 0 -m 0755 \"\$1/usr/local/bin\""
    --customize-hook="install -m 0755 $q_entrypoint \"\$1/usr/local/bin/docker-entrypoint.sh\""
    --customize-hook="chroot \"\$1\" install -d -o postgres -g postgres -m 0700 $PGDATA_DIR"
    --customize-hook="chroot \"\$1\" dpkg-query -W -f '\${Version}' postgresql-$PG_MAJOR > $q_version_file"
)

log "building the root filesystem with mmdebstrap ($SUITE, postgresql-$PG_MAJOR)"
start=$SECONDS
mirror_args=()
[[ -n "${TOMBSTONE_PG_MIRROR:-}" ]] && mirror_args=("$TOMBSTONE_PG_MIRROR")
# mmdebstrap adds bookworm-updates and bookworm-security itself when no mirror
# is given; stdin is closed so it never tries to read a sources.list from it.
mmdebstrap --variant=apt \
    --include="postgresql-$PG_MAJOR" \
    "${dpkg_opts[@]}" "${hooks[@]}" \
    "$SUITE" "$tmp/rootfs.tar" "${mirror_args[@]}" </dev/null \
    || die "mmdebstrap failed (see its output above)"
pg_version="$(cat "$tmp/pg-version")"
log "root filesystem done in $((SECONDS - start))s: postgresql-$PG_MAJOR $pg_version, $(du -h "$tmp/rootfs.tar" | cut -f1) tar"

# --- image -----------------------------------------------------------------
# `docker import --change` cannot set STOPSIGNAL on this daemon (20.10), so
# the metadata comes from a Dockerfile: FROM scratch, ADD the root filesystem
# (as Debian's own base images do). Nothing is pulled.
cat > "$tmp/Dockerfile" <<EOF
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/lib/postgresql/$PG_MAJOR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    PG_MAJOR=$PG_MAJOR \\
    PG_VERSION=$pg_version \\
    LANG=en_US.utf8 \\
    PGDATA=$PGDATA_DIR
VOLUME $PGDATA_DIR
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
LABEL $LABEL_KIND=postgres \\
      $LABEL_RECIPE=$recipe \\
      org.tombstone-harness.pg-version=$pg_version
EOF
log "creating $IMAGE from it with docker build (FROM scratch)"
if ! docker build --quiet --tag "$IMAGE" "$tmp" >"$tmp/build.log" 2>&1; then
    cat "$tmp/build.log" >&2
    die "docker build failed"
fi

new_id="$(docker image inspect --format '{{.Id}}' "$IMAGE")"
if [[ -n "$old_id" && "$old_id" != "$new_id" ]]; then
    # The previous build is now untagged; drop it unless a container uses it.
    docker image rm "$old_id" >/dev/null 2>&1 || true
fi
log "built $IMAGE ($(docker image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')) in $((SECONDS - start))s"
