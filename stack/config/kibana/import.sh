#!/bin/sh
# Imports Kibana's saved objects (saved-objects.ndjson beside this file: the data view logs-*,
# the saved search "Errors", the dashboard "Logs overview" and its panels), idempotently. Run by
# the `kibana-setup` service of compose.yaml (`python -m stack up --runtime compose`) as
#   sh /etc/kibana-setup/import.sh
# once Kibana is healthy, through the saved objects import API with overwrite=true, so a run
# after a change of the file replaces the objects in place (their ids are fixed):
# https://www.elastic.co/guide/en/kibana/8.15/saved-objects-api-import.html
# Then it marks itself ready (the healthcheck) and stays up, so that `docker compose up --wait`
# waits for it and a restart runs it again.
set -eu

url="${KIBANA_URL:-http://kibana:5601}"
secrets="${SECRETS_DIR:-/run/secrets}"
objects="${OBJECTS_FILE:-/etc/kibana-setup/saved-objects.ndjson}"
ready="${READY_FILE:-/tmp/kibana-ready}"
body_file="$(mktemp)"
rm -f "$ready"

fail() {
    echo "kibana-setup: $*" >&2
    exit 1
}

# The password goes through a curl config file, not the command line.
auth_file="$(mktemp)"
chmod 600 "$auth_file"
printf 'user = "elastic:%s"\n' "$(cat "$secrets/elastic_password")" >"$auth_file"

tries=0
until status="$(curl -sS -K "$auth_file" -o "$body_file" -w '%{http_code}' "$url/api/status" || true)" \
    && [ "$status" = 200 ]; do
    tries=$((tries + 1))
    [ "$tries" -lt 90 ] || fail "Kibana at $url did not answer /api/status within 180 s (last: $status)"
    sleep 2
done

status="$(curl -sS -K "$auth_file" -o "$body_file" -w '%{http_code}' -X POST \
    -H 'kbn-xsrf: true' --form "file=@$objects" \
    "$url/api/saved_objects/_import?overwrite=true" || true)"
[ "$status" = 200 ] || fail "import answered $status: $(cat "$body_file")"
# A 200 can still carry per-object errors: {"success":false,"errors":[...]}.
grep -q '"success": *true' "$body_file" || fail "import failed: $(cat "$body_file")"

echo "kibana-setup: imported $objects into $url"
# Ready (the healthcheck), and stay up; on `docker compose stop`, stop at once and take the
# sleeper along. Ready only once the trap knows the sleeper, so a stop never orphans it.
sleeper=
trap 'kill $sleeper 2>/dev/null; exit 0' TERM INT
while :; do
    sleep 3600 &
    sleeper=$!
    touch "$ready"
    wait "$sleeper"
done
