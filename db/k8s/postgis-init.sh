#!/bin/sh
# The PostGIS container's command (db/k8s/postgis.yaml). The CloudNativePG
# PostGIS image carries PostgreSQL and PostGIS but no entrypoint of its own, so
# this creates the cluster on the first start and then runs the server:
#   - initdb with the owner from the Secret (POSTGRES_USER/PASSWORD/DB) into a
#     scratch folder, the database created on a server that listens on the
#     socket only, then renamed to $PGDATA: a start killed halfway leaves no
#     half-made cluster behind, and the next start begins again;
#   - the server, on every address, password-checked (scram-sha-256).
# Arguments are passed to postgres (e.g. -c max_connections=200).
set -eu

: "${PGDATA:?}" "${POSTGRES_USER:?}" "${POSTGRES_PASSWORD:?}" "${POSTGRES_DB:?}"

if [ ! -s "${PGDATA}/PG_VERSION" ]; then
  scratch="${PGDATA}.init"
  rm -rf "${scratch}"
  pwfile="$(mktemp)"
  sock="$(mktemp -d)"
  printf '%s' "${POSTGRES_PASSWORD}" >"${pwfile}"
  initdb -D "${scratch}" --username="${POSTGRES_USER}" --pwfile="${pwfile}" \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8
  rm -f "${pwfile}"
  echo "host all all all scram-sha-256" >>"${scratch}/pg_hba.conf"
  pg_ctl -D "${scratch}" -o "-c listen_addresses='' -c unix_socket_directories=${sock}" -w start
  echo 'CREATE DATABASE :"db"' |
    psql -v ON_ERROR_STOP=1 -h "${sock}" -U "${POSTGRES_USER}" -d postgres -v db="${POSTGRES_DB}"
  pg_ctl -D "${scratch}" -m fast -w stop
  rmdir "${sock}"
  mv "${scratch}" "${PGDATA}"
fi

exec postgres -D "${PGDATA}" -c listen_addresses='*' -c unix_socket_directories=/tmp "$@"
