#!/usr/bin/env bash
# Installs what the harness needs on a fresh Debian/Ubuntu machine, and only
# what is missing: PostgreSQL's server binaries (for --pg local and the
# isolation tester used by benchmarks). Idempotent and quick when done.
set -euo pipefail

have_postgres() {
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1
}

if have_postgres; then
    exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: PostgreSQL's server binaries are missing; install PostgreSQL 15+ (e.g. apt-get install postgresql-15) or use --pg container / --pg url" >&2
    exit 2
fi
echo "setup: installing PostgreSQL from the distribution's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql-15 postgresql-server-dev-15 >/dev/null 2>&1 \
    || apt-get install -y -qq postgresql >/dev/null
