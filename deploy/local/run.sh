#!/usr/bin/env bash
# Runs the whole of UdaConnect locally, without a cluster: PostGIS (a cluster
# kept in .run/pg, or $DATABASE_URL), migrated and seeded; the four
# functions; the local broker running eventing/*.yaml, its events kept in
# .run/broker; and the door at http://localhost:8080. Each process serves its
# Prometheus metrics at /metrics on its own port plus 5 (METRICS_PORT: 8085
# for the door, 8095 to 8099 for the broker and the functions). Each process
# is supervised as Kubernetes restarts a container: one that exits is started
# again after a backoff (1 s, 2 s, 4 s... at most 30 s; back to 1 s once it
# ran a minute), and the rest keeps running. REPLICAS=n (default 1) starts n
# replicas of persons, locations and connections, replica i on its function's
# port plus 100 * (i - 1); the local broker and the door spread deliveries and
# requests over them in turn, as Knative's activator spreads them over a
# revision's pods. Ctrl-C stops everything; the data stays.
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
DEADLETTERS_PORT=${DEADLETTERS_PORT:-8094}
REPLICAS=${REPLICAS:-1}
export LOG_LEVEL=${LOG_LEVEL:-info}
if ! [[ $REPLICAS =~ ^[1-9]$ ]]; then
  echo "REPLICAS must be a number from 1 to 9, not $REPLICAS" >&2
  exit 1
fi

metrics() { echo $(($1 + 5)); } # the METRICS_PORT of the process on port $1
replica_ports() {                # base: the ports of the function's replicas
  for ((i = 0; i < REPLICAS; i++)); do echo $(($1 + 100 * i)); done
}
urls() { # base: the comma-separated URLs of the function's replicas
  replica_ports "$1" | sed 's|^|http://127.0.0.1:|' | paste -sd, -
}
ports=("$DOOR_PORT" "$BROKER_PORT" "$DEADLETTERS_PORT")
for base in "$PERSONS_PORT" "$LOCATIONS_PORT" "$CONNECTIONS_PORT"; do
  mapfile -t -O "${#ports[@]}" ports < <(replica_ports "$base")
done
for p in "${ports[@]}"; do
  for port in "$p" "$(metrics "$p")"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "port $port is in use: is UdaConnect already running? Stop it first (Ctrl-C)." >&2
      exit 1
    fi
  done
done

mkdir -p "$RUN_DIR/bin" "$RUN_DIR/logs"
own_db=
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(db/postgres.sh start "$RUN_DIR/pg" "$PG_PORT")
  own_db=1
fi

# The credentials, made on the first start and kept with the data: the key
# that signs attendees' tokens, the organizer's token, the secret the door,
# the local broker and the functions share (the functions answer no one
# else), and a password for each function's database role (docs/design.md,
# "Access").
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
INTERNAL_TOKEN=$(secret "$RUN_DIR/secrets/internal-token")
PERSONS_DB_PASSWORD=$(secret "$RUN_DIR/secrets/persons-db-password")
LOCATIONS_DB_PASSWORD=$(secret "$RUN_DIR/secrets/locations-db-password")
CONNECTIONS_DB_PASSWORD=$(secret "$RUN_DIR/secrets/connections-db-password")
DEADLETTERS_DB_PASSWORD=$(secret "$RUN_DIR/secrets/deadletters-db-password")
role_url() { # role password: DATABASE_URL with that user
  local rest=${DATABASE_URL#*://}
  echo "${DATABASE_URL%%://*}://$1:$2@${rest#*@}"
}

echo "building"
go build -o "$RUN_DIR/bin/" ./functions/persons ./functions/locations ./functions/connections \
  ./functions/deadletters ./frontend ./eventing/cmd/localbroker ./shared/cmd/migrate
DATABASE_URL=$DATABASE_URL PERSONS_DB_PASSWORD=$PERSONS_DB_PASSWORD LOCATIONS_DB_PASSWORD=$LOCATIONS_DB_PASSWORD \
  CONNECTIONS_DB_PASSWORD=$CONNECTIONS_DB_PASSWORD DEADLETTERS_DB_PASSWORD=$DEADLETTERS_DB_PASSWORD \
  "$RUN_DIR/bin/migrate" -seed

pids=() # of the supervisors
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

# supervise name command...: runs the command, its output in the name's log,
# and starts it again whenever it exits, after a backoff; a TERM stops it.
# shellcheck disable=SC2317 # the trap's commands
supervise() {
  local name=$1 restarts=0 delay=1 child=0 started status
  shift
  trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 0' TERM
  trap '' INT # Ctrl-C reaches the main shell, which stops each supervisor in turn
  while :; do
    started=$SECONDS
    "$@" >>"$RUN_DIR/logs/$name.log" 2>&1 &
    child=$!
    status=0
    wait "$child" || status=$?
    if ((SECONDS - started >= 60)); then delay=1; fi
    echo "$name exited with status $status; restarting in ${delay}s" | tee -a "$RUN_DIR/logs/$name.log" >&2
    sleep "$delay" &
    child=$!
    wait "$child" || true
    restarts=$((restarts + 1))
    echo "restarted $name ($restarts)" | tee -a "$RUN_DIR/logs/$name.log" >&2
    delay=$((delay * 2 > 30 ? 30 : delay * 2))
  done
}

broker=http://127.0.0.1:$BROKER_PORT/udaconnect/default
start() { # name port [env...]: the binary of name (persons-2 is replica 2 of persons)
  local name=$1 port=$2
  shift 2
  : >"$RUN_DIR/logs/$name.log"
  supervise "$name" env PORT="$port" METRICS_PORT="$(metrics "$port")" "$@" "$RUN_DIR/bin/${name%-[0-9]}" &
  pids+=($!)
}
# Every process listens on the loopback only; the door is the one entry.
export HOST=127.0.0.1
export INTERNAL_TOKEN
replicas() { # name base [env...]: the function's replicas, named persons, persons-2...
  local name=$1 base=$2 i=1 port
  shift 2
  for port in $(replica_ports "$base"); do
    if ((i == 1)); then start "$name" "$port" "$@"; else start "$name-$i" "$port" "$@"; fi
    i=$((i + 1))
  done
}
replicas persons "$PERSONS_PORT" DATABASE_URL="$(role_url udaconnect_persons "$PERSONS_DB_PASSWORD")"
replicas locations "$LOCATIONS_PORT" DATABASE_URL="$(role_url udaconnect_locations "$LOCATIONS_DB_PASSWORD")"
replicas connections "$CONNECTIONS_PORT" K_SINK="$broker" \
  DATABASE_URL="$(role_url udaconnect_connections "$CONNECTIONS_DB_PASSWORD")"
start deadletters "$DEADLETTERS_PORT" K_SINK="$broker" \
  DATABASE_URL="$(role_url udaconnect_deadletters "$DEADLETTERS_DB_PASSWORD")"
: >"$RUN_DIR/logs/localbroker.log"
supervise localbroker env METRICS_PORT="$(metrics "$BROKER_PORT")" "$RUN_DIR/bin/localbroker" -listen "127.0.0.1:$BROKER_PORT" \
  -data "$RUN_DIR/broker" -manifests eventing \
  -service "persons=$(urls "$PERSONS_PORT")" -service "locations=$(urls "$LOCATIONS_PORT")" \
  -service "connections=$(urls "$CONNECTIONS_PORT")" -service "dead-letters=http://127.0.0.1:$DEADLETTERS_PORT" &
pids+=($!)
start frontend "$DOOR_PORT" K_SINK="$broker" AUTH_KEY="$AUTH_KEY" ORGANIZER_TOKEN="$ORGANIZER_TOKEN" PERSONS_URL="$(urls "$PERSONS_PORT")" \
  LOCATIONS_URL="$(urls "$LOCATIONS_PORT")" CONNECTIONS_URL="$(urls "$CONNECTIONS_PORT")" \
  DEADLETTERS_URL="http://127.0.0.1:$DEADLETTERS_PORT"

ready=()
for base in "$PERSONS_PORT" "$LOCATIONS_PORT" "$CONNECTIONS_PORT"; do
  mapfile -t -O "${#ready[@]}" ready < <(urls "$base" | tr , '\n' | sed 's|$|/readyz|')
done
for url in "${ready[@]}" "http://127.0.0.1:$DEADLETTERS_PORT/readyz" \
  "http://127.0.0.1:$BROKER_PORT/healthz" "http://127.0.0.1:$DOOR_PORT/readyz"; do
  for _ in $(seq 100); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && continue 2
    sleep 0.1
  done
  echo "not ready: $url (see $RUN_DIR/logs/)" >&2
  exit 1
done

# The simulator's reporter (docs/design.md, "Access"): registered on the
# first start, again when its token is no longer valid (a reporter has no
# session: 403 means its token is good, 401 that it is not).
reporter_valid() {
  [ -s "$RUN_DIR/reporter-token" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $(cat "$RUN_DIR/reporter-token")" "http://127.0.0.1:$DOOR_PORT/api/session")" = 403 ]
}
if ! reporter_valid; then
  if answer=$(curl -fsS -X POST -H "Authorization: Bearer $ORGANIZER_TOKEN" -H 'Content-Type: application/json' \
    -d '{"name": "simulator"}' "http://127.0.0.1:$DOOR_PORT/api/reporters"); then
    (umask 077 && sed -n 's/.*"token":"\([^"]*\)".*/\1/p' <<<"$answer" >"$RUN_DIR/reporter-token")
  else
    echo "could not register the simulator's reporter (see $RUN_DIR/logs/); the rest runs" >&2
  fi
fi

cat <<MSG
UdaConnect is running:
  web app and API   http://localhost:$DOOR_PORT   (API docs: /api/docs, events: POST /events)
  local broker      http://127.0.0.1:$BROKER_PORT/udaconnect/default   (events kept in $RUN_DIR/broker)
  persons           $(urls "$PERSONS_PORT")
  locations         $(urls "$LOCATIONS_PORT")
  connections       $(urls "$CONNECTIONS_PORT")
  dead letters      http://127.0.0.1:$DEADLETTERS_PORT   (organizer: GET /api/dead-letters at the door)
  metrics           http://127.0.0.1:PORT/metrics on PORT $(metrics "$DOOR_PORT") (door), $(metrics "$BROKER_PORT") (broker),
                    $(metrics "$PERSONS_PORT") (persons), $(metrics "$LOCATIONS_PORT") (locations), $(metrics "$CONNECTIONS_PORT") (connections),
                    $(metrics "$DEADLETTERS_PORT") (dead letters)
  database          $DATABASE_URL
  logs              $RUN_DIR/logs/
The organizer's token is in $RUN_DIR/organizer-token:
  $ORGANIZER_TOKEN
Sign in as the organizer: http://localhost:$DOOR_PORT/#token=$ORGANIZER_TOKEN
A reporter's token, to send location reports (the simulator's), is in $RUN_DIR/reporter-token.
A process that exits is restarted ("restarted <name> (n)" here and in its log).
Ctrl-C stops it all; the data stays for the next run.
MSG
wait
