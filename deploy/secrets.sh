#!/usr/bin/env bash
# Writes the database credentials that kustomize's secretGenerator reads
# (deploy/base/kustomization.yaml) into a gitignored env file, with a random
# password. An existing file is kept, so the password keeps matching the data
# PostGIS already holds. Usage: deploy/secrets.sh [output-dir]
# (default: deploy/.secrets next to this script).
set -euo pipefail

dir="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/.secrets}"
file="${dir}/postgres.env"

if [[ -s "${file}" ]]; then
  exit 0
fi

mkdir -p "${dir}"
chmod 700 "${dir}"

# 32 random bytes as hex: safe inside a URL without escaping.
password="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
if [[ ${#password} -ne 64 ]]; then
  echo "secrets.sh: could not read 32 random bytes" >&2
  exit 1
fi

user=udaconnect
db=udaconnect
host=postgis.udaconnect.svc.cluster.local

umask 077
tmp="$(mktemp "${dir}/postgres.env.XXXXXX")"
cat >"${tmp}" <<ENV
POSTGRES_USER=${user}
POSTGRES_PASSWORD=${password}
POSTGRES_DB=${db}
DATABASE_URL=postgres://${user}:${password}@${host}:5432/${db}?sslmode=disable
ENV
mv "${tmp}" "${file}"
echo "secrets.sh: wrote ${file}"
