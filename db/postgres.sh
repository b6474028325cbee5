#!/usr/bin/env bash
# Starts a local PostgreSQL + PostGIS cluster in a folder of this checkout and
# prints its DATABASE_URL.
#
#   db/postgres.sh start DIR PORT   initialise DIR if new, start, create the database
#   db/postgres.sh stop DIR         stop the cluster of DIR
#
# PostgreSQL refuses to run as root: as root the cluster runs as the
# `postgres` user, as Debian's pg_ctlcluster does. PostGIS comes from
# Debian's postgresql-15-postgis-3, installed with apt-get when missing.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

as_owner() { # paths given to it must be absolute
  if [ "$(id -u)" = 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

ensure_postgis() {
  if [ -x "$PG_BIN/pg_ctl" ] && [ -f /usr/share/postgresql/15/extension/postgis.control ]; then
    return
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing PostgreSQL 15 + PostGIS 3 with apt-get" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-15-postgis-3 >&2
    return
  fi
  echo "PostGIS is missing: install postgresql-15 and postgresql-15-postgis-3 (Debian), then run again" >&2
  exit 1
}

start() {
  local dir=$1 port=$2
  ensure_postgis
  mkdir -p "$(dirname "$dir")"
  if [ "$(id -u)" = 0 ] && [ ! -e "$dir" ] && ! runuser -u postgres -- test -x "$(dirname "$dir")"; then
    # The postgres user cannot reach this checkout (a private home folder,
    # say): keep the cluster in its home, linked from here.
    local home
    home=/var/lib/postgresql/udaconnect-$(realpath -m "$dir" | md5sum | cut -c1-12)
    mkdir -p "$home"
    ln -s "$home" "$dir"
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$dir"
    chmod 700 "$dir"
  fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    as_owner "$PG_BIN/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  fi
  # The owner is trusted on this machine; the functions' roles sign in with
  # their passwords, as in the cluster.
  printf '%s\n' 'local all all trust' 'host all postgres 127.0.0.1/32 trust' \
    'host all all 127.0.0.1/32 scram-sha-256' | as_owner tee "$dir/pg_hba.conf" >/dev/null
  as_owner "$PG_BIN/pg_ctl" -D "$dir" reload >/dev/null 2>&1 || true
  if ! as_owner "$PG_BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    if ! as_owner "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=${PG_FSYNC:-on}" >/dev/null; then
      tail -n 5 "$dir/server.log" >&2
      exit 1
    fi
  fi
  if ! as_owner "$PG_BIN/psql" -h "$dir" -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'udaconnect'" | grep -q 1; then
    as_owner "$PG_BIN/createdb" -h "$dir" -p "$port" -U postgres udaconnect
  fi
  echo "postgres://postgres@127.0.0.1:$port/udaconnect?sslmode=disable"
}

stop() {
  local dir
  dir=$(realpath -m "$1")
  if [ -f "$dir/PG_VERSION" ]; then
    as_owner "$PG_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

case "${1:-}" in
  start) start "${2:?DIR}" "${3:?PORT}" ;;
  stop) stop "${2:?DIR}" ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
