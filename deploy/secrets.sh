#!/usr/bin/env bash
# Writes the credentials that kustomize's secretGenerators read
# (deploy/base/kustomization.yaml) into gitignored env files, with random
# values from /dev/urandom:
#   postgres.env        the database owner (PostGIS and the migrator)
#   db-persons.env      one file per function's database role: username,
#   db-locations.env    password and database-url
#   db-connections.env
#   db-dead-letters.env
#   auth.env            the door's auth-key (signs attendee tokens) and the
#                       organizer-token
# An existing file is kept, so passwords keep matching the data PostGIS
# already holds and issued tokens stay valid. Usage:
#   deploy/secrets.sh [output-dir]   (default: deploy/.secrets next to this script)
set -euo pipefail

dir="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/.secrets}"
db=udaconnect
host=postgis.udaconnect.svc.cluster.local

mkdir -p "${dir}"
chmod 700 "${dir}"
umask 077

# random prints 32 random bytes as hex: safe inside a URL without escaping.
random() {
  local value
  value="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
  if [[ ${#value} -ne 64 ]]; then
    echo "secrets.sh: could not read 32 random bytes" >&2
    exit 1
  fi
  printf '%s' "${value}"
}

# write NAME CONTENT: writes ${dir}/NAME atomically unless it exists.
write() {
  local file="${dir}/$1"
  if [[ -s "${file}" ]]; then
    return 0
  fi
  local tmp
  tmp="$(mktemp "${file}.XXXXXX")"
  printf '%s\n' "$2" >"${tmp}"
  mv "${tmp}" "${file}"
  echo "secrets.sh: wrote ${file}"
}

password="$(random)"
write postgres.env "POSTGRES_USER=${db}
POSTGRES_PASSWORD=${password}
POSTGRES_DB=${db}
DATABASE_URL=postgres://${db}:${password}@${host}:5432/${db}?sslmode=disable"

# The roles the migrations create (NOLOGIN until the migrator gives each its
# password): one per function, with only the rights it needs.
for fn in persons locations connections dead-letters; do
  role="udaconnect_${fn//-/}"
  password="$(random)"
  write "db-${fn}.env" "username=${role}
password=${password}
database-url=postgres://${role}:${password}@${host}:5432/${db}?sslmode=disable"
done

write auth.env "auth-key=$(random)
organizer-token=$(random)"
