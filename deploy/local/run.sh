#!/usr/bin/env bash
# Runs the whole of UdaConnect locally, without a cluster: PostGIS (a cluster
# kept in .run/pg, or $DATABASE_URL), migrated and seeded; the three
# functions; the local broker running eventing/*.yaml; and the door at
# http://localhost:8080. Each process serves its Prometheus metrics at
# /metrics on its own port plus 5 (METRICS_PORT: 8085 for the door, 8095 to
# 8098 for the broker and the functions). Ctrl-C stops everything; the data
# stays.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/go/bin"

RUN_DIR=${RUN_DIR:-.run}
PG_PORT=${PG_PORT:-55433}
DOOR_PORT=${DOOR_PORT:-8080}
BROKER_PORT=${BROKER_PORT:-8090}
PERSONS_PORT=${PERSONS_PORT:-8091}
LOCATIONS_PORT=${LOCATIONS_PORT:-8092}
CONNECTIONS_PORT=${CONNECTIONS_PORT:-8093}
export LOG_LEVEL=${LOG_LEVEL:-info}

metrics() { echo $(($1 + 5)); } # the METRICS_PORT of the process on port $1
for port in "$DOOR_PORT" "$BROKER_PORT" "$PERSONS_PORT" "$LOCATIONS_PORT" "$CONNECTIONS_PORT" \
  "$(metrics "$DOOR_PORT")" "$(metrics "$BROKER_PORT")" "$(metrics "$PERSONS_PORT")" \
  "$(metrics "$LOCATIONS_PORT")" "$(metrics "$CONNECTIONS_PORT")"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is in use: is UdaConnect already running? Stop it first (Ctrl-C)." >&2
    exit 1
  fi
done

mkdir -p "$RUN_DIR/bin" "$RUN_DIR/logs"
own_db=
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(db/postgres.sh start "$RUN_DIR/pg" "$PG_PORT")
  own_db=1
fi

# The credentials, made on the first start and kept with the data: the key
# that signs attendees' tokens, the organizer's token, and a password for
# each function's database role (docs/design.md, "Access").
secret() { # file: prints it, made first if new
  if [ ! -s "$1" ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$1")
  fi
  cat "$1"
}
mkdir -p "$RUN_DIR/secrets"
chmod 700 "$RUN_DIR/secrets"
AUTH_KEY=$(secret "$RUN_DIR/secrets/auth-key")
ORGANIZER_TOKEN=$(secret "$RUN_DIR/organizer-token")
PERSONS_DB_PASSWORD=$(secret "$RUN_DIR/secrets/persons-db-password")
LOCATIONS_DB_PASSWORD=$(secret "$RUN_DIR/secrets/locations-db-password")
CONNECTIONS_DB_PASSWORD=$(secret "$RUN_DIR/secrets/connections-db-password")
role_url() { # role password: DATABASE_URL with that user
  local rest=${DATABASE_URL#*://}
  echo "${DATABASE_URL%%://*}://$1:$2@${rest#*@}"
}

echo "building"
go build -o "$RUN_DIR/bin/" ./functions/persons ./functions/locations ./functions/connections \
  ./frontend ./eventing/cmd/localbroker ./shared/cmd/migrate
DATABASE_URL=$DATABASE_URL PERSONS_DB_PASSWORD=$PERSONS_DB_PASSWORD LOCATIONS_DB_PASSWORD=$LOCATIONS_DB_PASSWORD \
  CONNECTIONS_DB_PASSWORD=$CONNECTIONS_DB_PASSWORD "$RUN_DIR/bin/migrate" -seed

pids=()
# shellcheck disable=SC2317 # stop and interrupted run from the traps
stop() {
  trap - INT TERM EXIT
  echo "stopping"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  if [ -n "$own_db" ]; then db/postgres.sh stop "$RUN_DIR/pg"; fi
}
# shellcheck disable=SC2317
interrupted() {
  stop
  exit 0
}
trap interrupted INT TERM
trap stop EXIT

broker=http://127.0.0.1:$BROKER_PORT/udaconnect/default
start() { # name port [env...]
  local name=$1 port=$2
  shift 2
  env PORT="$port" METRICS_PORT="$(metrics "$port")" "$@" "$RUN_DIR/bin/$name" >"$RUN_DIR/logs/$name.log" 2>&1 &
  pids+=($!)
}
# Every process listens on the loopback only; the door is the one entry.
export HOST=127.0.0.1
start persons "$PERSONS_PORT" DATABASE_URL="$(role_url udaconnect_persons "$PERSONS_DB_PASSWORD")"
start locations "$LOCATIONS_PORT" DATABASE_URL="$(role_url udaconnect_locations "$LOCATIONS_DB_PASSWORD")"
start connections "$CONNECTIONS_PORT" K_SINK="$broker" \
  DATABASE_URL="$(role_url udaconnect_connections "$CONNECTIONS_DB_PASSWORD")"
METRICS_PORT=$(metrics "$BROKER_PORT") "$RUN_DIR/bin/localbroker" -listen "127.0.0.1:$BROKER_PORT" -manifests eventing/broker.yaml,eventing/triggers.yaml \
  -service "persons=http://127.0.0.1:$PERSONS_PORT" -service "locations=http://127.0.0.1:$LOCATIONS_PORT" \
  -service "connections=http://127.0.0.1:$CONNECTIONS_PORT" >"$RUN_DIR/logs/localbroker.log" 2>&1 &
pids+=($!)
start frontend "$DOOR_PORT" K_SINK="$broker" AUTH_KEY="$AUTH_KEY" ORGANIZER_TOKEN="$ORGANIZER_TOKEN" PERSONS_URL="http://127.0.0.1:$PERSONS_PORT" \
  LOCATIONS_URL="http://127.0.0.1:$LOCATIONS_PORT" CONNECTIONS_URL="http://127.0.0.1:$CONNECTIONS_PORT"

for url in "http://127.0.0.1:$PERSONS_PORT/readyz" "http://127.0.0.1:$LOCATIONS_PORT/readyz" \
  "http://127.0.0.1:$CONNECTIONS_PORT/readyz" "http://127.0.0.1:$BROKER_PORT/healthz" "http://127.0.0.1:$DOOR_PORT/readyz"; do
  for _ in $(seq 100); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && continue 2
    sleep 0.1
  done
  echo "not ready: $url (see $RUN_DIR/logs/)" >&2
  exit 1
done

cat <<MSG
UdaConnect is running:
  web app and API   http://localhost:$DOOR_PORT   (API docs: /api/docs, events: POST /events)
  local broker      http://127.0.0.1:$BROKER_PORT/udaconnect/default   (dead letters: /dead-letters)
  persons           http://127.0.0.1:$PERSONS_PORT
  locations         http://127.0.0.1:$LOCATIONS_PORT
  connections       http://127.0.0.1:$CONNECTIONS_PORT
  metrics           http://127.0.0.1:PORT/metrics on PORT $(metrics "$DOOR_PORT") (door), $(metrics "$BROKER_PORT") (broker),
                    $(metrics "$PERSONS_PORT") (persons), $(metrics "$LOCATIONS_PORT") (locations), $(metrics "$CONNECTIONS_PORT") (connections)
  database          $DATABASE_URL
  logs              $RUN_DIR/logs/
The organizer's token is in $RUN_DIR/organizer-token:
  $ORGANIZER_TOKEN
Sign in as the organizer: http://localhost:$DOOR_PORT/#token=$ORGANIZER_TOKEN
Ctrl-C stops it all; the data stays for the next run.
MSG
wait -n "${pids[@]}" || true
echo "a process stopped; see $RUN_DIR/logs/" >&2
exit 1
