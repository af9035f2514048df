#!/bin/sh
# Sets up Elasticsearch for the log pipeline, idempotently. Run by the `elasticsearch-setup`
# service of compose.yaml (`python -m stack up --runtime compose`) as
#   sh /etc/elasticsearch-setup/setup.sh
# once Elasticsearch is healthy, as docker-elk's setup does. It sends every request of
# /var/lib/elasticsearch-setup/setup-requests.txt (rendered from stack/elastic_setup.py and
# stack/config/retention.yaml), as the `elastic` superuser: roles, users and their passwords
# (from the Docker secrets, on every run, so a rotated secret takes effect), the snapshot
# repository, the SLM policy of the archive, the ILM policy and the index templates. Each
# request is an upsert. Then it marks itself ready (the healthcheck) and stays up, so that
# `docker compose up --wait` waits for it and a restart runs it again.
set -eu

url="${ELASTICSEARCH_URL:-http://elasticsearch:9200}"
secrets="${SECRETS_DIR:-/run/secrets}"
requests="${REQUESTS_FILE:-/var/lib/elasticsearch-setup/setup-requests.txt}"
snapshots="${SNAPSHOTS_DIR:-/snapshots}"
ready="${READY_FILE:-/tmp/setup-ready}"
body_file="$(mktemp)"
rm -f "$ready"

fail() {
    echo "elasticsearch-setup: $*" >&2
    exit 1
}

# The snapshot volume is created root-owned; Elasticsearch runs as uid 1000, group 0.
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$snapshots"
    chown 1000:0 "$snapshots"
    chmod 0770 "$snapshots"
fi

# Netrc-style credentials through a file, so the password is not on curl's command line.
auth_file="$(mktemp)"
chmod 600 "$auth_file"
printf 'user = "elastic:%s"\n' "$(cat "$secrets/elastic_password")" >"$auth_file"

# api METHOD PATH [JSON]: the response body goes to $body_file, the status to stdout.
api() {
    curl -sS -K "$auth_file" -o "$body_file" -w '%{http_code}' -X "$1" \
        -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$url$2" || true
}

tries=0
until status="$(api GET /_security/_authenticate)" && [ "$status" = 200 ]; do
    if [ "$status" = 401 ]; then
        # ELASTIC_PASSWORD is only the bootstrap password: a kept keystore or a password stored
        # for elastic wins over a rotated secret.
        fail "Elasticsearch refuses the elastic password of the secret (401): the secret changed \
after Elasticsearch took its password; set it with \`docker compose exec elasticsearch \
bin/elasticsearch-reset-password -u elastic -i\` to the secret's value (docs/logging.md)"
    fi
    tries=$((tries + 1))
    [ "$tries" -lt 90 ] || fail "Elasticsearch at $url did not answer within 180 s (last: $status)"
    sleep 2
done

# The secrets are letters and digits only (stack/secrets.py): safe inside JSON and sed.
count=0
while read -r method path body; do
    case "$method" in '' | '#'*) continue ;; esac
    case "$body" in
        *'${secret:'*)
            name="$(printf '%s' "$body" | sed -n 's/.*\${secret:\([a-z_]*\)}.*/\1/p')"
            [ -r "$secrets/$name" ] || fail "$method $path needs the secret $name, not mounted"
            body="$(printf '%s' "$body" | sed "s/\${secret:$name}/$(cat "$secrets/$name")/")"
            ;;
    esac
    status="$(api "$method" "$path" "$body")"
    case "$status" in
        2*) count=$((count + 1)) ;;
        *) fail "$method $path answered $status: $(cat "$body_file")" ;;
    esac
done <"$requests"

echo "elasticsearch-setup: $count requests applied to $url"
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
