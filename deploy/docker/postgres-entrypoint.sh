#!/usr/bin/env bash
# Entrypoint of the stand-in postgres image (deploy/docker/base-images.sh): the subset of the
# official image's behaviour the stack uses. First start: initdb in $PGDATA with
# POSTGRES_USER / POSTGRES_PASSWORD (scram-sha-256 for TCP), create POSTGRES_DB. Then run
# `postgres "$@"` as the postgres user, listening on every address (use `-p` to pick a port).
set -euo pipefail
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
if [ "${1:-}" = "postgres" ]; then
  shift
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=$(mktemp) && printf '%s' "$POSTGRES_PASSWORD" > "$pwfile" && chown postgres "$pwfile"
    su postgres -c "initdb -D '$PGDATA' -U '$POSTGRES_USER' --pwfile='$pwfile' --auth-host=scram-sha-256 --auth-local=trust" >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    su postgres -c "pg_ctl -D '$PGDATA' -o '-c listen_addresses= -p 5432' -w start" >/dev/null
    if [ "$POSTGRES_DB" != "postgres" ]; then
      su postgres -c "psql -v ON_ERROR_STOP=1 -U '$POSTGRES_USER' -d postgres -c 'create database \"$POSTGRES_DB\"'" >/dev/null
    fi
    su postgres -c "pg_ctl -D '$PGDATA' -m fast -w stop" >/dev/null
  fi
  exec su postgres -c "exec postgres -D '$PGDATA' -c listen_addresses='*' $*"
fi
exec "$@"
