#!/usr/bin/env bash
# Entrypoint of the locally built tombstone-harness/postgres image. It mirrors
# the part of the official postgres image's entrypoint that tests rely on:
#
#   POSTGRES_PASSWORD          superuser password (required unless auth is trust)
#   POSTGRES_USER              superuser name                  (default postgres)
#   POSTGRES_DB                database created on first start (default $POSTGRES_USER)
#   POSTGRES_HOST_AUTH_METHOD  pg_hba method for remote hosts  (default scram-sha-256)
#   POSTGRES_INITDB_ARGS       extra initdb arguments
#   POSTGRES_*_FILE            read the variable above from a file (docker secrets)
#
# `IMAGE postgres -c fsync=off` and `IMAGE -c fsync=off` start the server with
# those options; any other command is exec'd as is. Not supported:
# /docker-entrypoint-initdb.d, POSTGRES_INITDB_WALDIR, arbitrary --user uids.
set -Eeuo pipefail

say() { printf '%s\n' "$*" >&2; }

# VAR_FILE -> VAR, as in the official image.
file_env() {
    local var="$1" file_var="${1}_FILE"
    if [[ -n "${!var:-}" && -n "${!file_var:-}" ]]; then
        say "error: both $var and $file_var are set (but they are exclusive)"
        exit 1
    fi
    if [[ -n "${!file_var:-}" ]]; then
        export "$var"="$(< "${!file_var}")"
        unset "$file_var"
    fi
}

if [[ $# -eq 0 || "$1" == -* ]]; then
    set -- postgres "$@"
fi
if [[ "$1" != postgres ]]; then
    exec "$@"
fi

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"

# As root: make the data and socket directories usable, then run this script
# again as the postgres user (setpriv execs, so postgres ends up as PID 1 and
# receives `docker stop`'s SIGINT directly).
if [[ "$(id -u)" == 0 ]]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
    chmod 0700 "$PGDATA"
    chown postgres:postgres /var/run/postgresql
    chmod 3777 /var/run/postgresql
    export HOME=/var/lib/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups -- "${BASH_SOURCE[0]}" "$@"
fi

file_env POSTGRES_PASSWORD
file_env POSTGRES_USER
file_env POSTGRES_DB
file_env POSTGRES_INITDB_ARGS
export POSTGRES_USER="${POSTGRES_USER:-postgres}"
export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
    if [[ -z "${POSTGRES_PASSWORD:-}" && "$auth" != trust ]]; then
        say "error: the database is uninitialized and no superuser password is set."
        say "       Pass -e POSTGRES_PASSWORD=... (or -e POSTGRES_HOST_AUTH_METHOD=trust)."
        exit 1
    fi
    if [[ "$auth" == trust ]]; then
        say "warning: POSTGRES_HOST_AUTH_METHOD=trust: anyone who can reach the port can connect, without a password"
    fi

    # initdb creates the superuser under $POSTGRES_USER and, with --pwfile,
    # sets its password (hashed per password_encryption, scram-sha-256 in 15):
    # no temporary server is needed for either.
    initdb_cmd=(initdb --username="$POSTGRES_USER" --pgdata="$PGDATA")
    if [[ -n "${POSTGRES_PASSWORD:-}" ]]; then
        pwfile="$(mktemp)"
        printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
        initdb_cmd+=(--pwfile="$pwfile")
    fi
    # eval, so that POSTGRES_INITDB_ARGS may contain quoted arguments.
    eval '"${initdb_cmd[@]}" '"${POSTGRES_INITDB_ARGS:-}" >&2
    rm -f "${pwfile:-}"

    # Like the official image: local and 127.0.0.1 connections keep initdb's
    # trust; every other host goes through $auth.
    printf '\nhost all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"
    printf "\nlisten_addresses = '*'\n" >> "$PGDATA/postgresql.conf"

    if [[ "$POSTGRES_DB" != postgres ]]; then
        # Single-user mode runs as the bootstrap superuser ($POSTGRES_USER),
        # which therefore owns the new database, as in the official image.
        db_ident="\"${POSTGRES_DB//\"/\"\"}\""
        out="$(postgres --single -D "$PGDATA" -c log_min_messages=error postgres \
                 <<< "CREATE DATABASE $db_ident;" 2>&1)"
        if grep -q 'ERROR:' <<< "$out"; then
            say "$out"
            say "error: could not create database $POSTGRES_DB"
            exit 1
        fi
    fi
    say "initialized $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB, host auth $auth)"
fi

exec "$@"
