#!/bin/sh
# Creates Grafana's read-only `viewer` user, idempotently. Run by the `grafana-setup` service of
# compose.yaml (`python -m stack up --runtime compose`) as
#   sh /etc/grafana-setup/setup-viewer.sh
# once Grafana is healthy. Grafana's file provisioning has no users, hence its HTTP API
# (https://grafana.com/docs/grafana/latest/developers/http_api/admin/ and .../org/):
#   GET  /api/users/lookup?loginOrEmail=viewer   does it exist?
#   POST /api/admin/users                        create it (Grafana admin, basic auth)
#   PUT  /api/admin/users/:id/password           bring its password in line with the secret
#   PATCH /api/org/users/:id {"role":"Viewer"}   read-only in the main organisation
# Then it marks itself ready (the healthcheck) and stays up, so that `docker compose up --wait`
# waits for it like for every other service, and a restart runs it again.
set -eu

url="${GRAFANA_URL:-http://grafana:3000}"
login="${VIEWER_LOGIN:-viewer}"
secrets="${SECRETS_DIR:-/run/secrets}"
admin="admin:$(cat "$secrets/admin_password")"
password="$(cat "$secrets/grafana_viewer_password")"
ready="${READY_FILE:-/tmp/viewer-ready}"
body_file="$(mktemp)"
rm -f "$ready"

# api METHOD PATH [JSON] [USER:PASSWORD]: the body goes to $body_file, the status to stdout.
# The secrets are letters and digits only (stack/secrets.py), so they are safe inside JSON.
api() {
    curl -sS -o "$body_file" -w '%{http_code}' -X "$1" -u "${4:-$admin}" \
        -H 'Content-Type: application/json' ${3:+--data "$3"} "$url$2"
}

fail() {
    echo "grafana-setup: $*" >&2
    exit 1
}

user_id() {
    grep -o '"id": *[0-9]*' "$body_file" | head -n 1 | tr -dc 0-9
}

tries=0
until [ "$(api GET /api/health)" = 200 ]; do
    tries=$((tries + 1))
    [ "$tries" -lt 60 ] || fail "Grafana at $url did not answer /api/health within 120 s"
    sleep 2
done

status="$(api GET "/api/users/lookup?loginOrEmail=$login")"
case "$status" in
    200) id="$(user_id)" ;;
    404)
        body="{\"name\":\"Viewer\",\"login\":\"$login\",\"email\":\"$login@stack.local\",\"password\":\"$password\",\"OrgId\":1}"
        status="$(api POST /api/admin/users "$body")"
        [ "$status" = 200 ] || fail "creating user $login: HTTP $status $(cat "$body_file")"
        id="$(user_id)"
        echo "grafana-setup: created user $login (id $id)"
        ;;
    401)
        fail "Grafana rejected admin's password. Grafana applies GF_SECURITY_ADMIN_PASSWORD only \
when its database is first created; after \`python -m stack secrets --rotate\` reset it with: \
docker compose exec grafana grafana cli admin reset-admin-password \"\$(cat .stack/secrets/admin_password)\""
        ;;
    *) fail "looking up user $login: HTTP $status $(cat "$body_file")" ;;
esac
[ -n "$id" ] || fail "no user id in Grafana's answer: $(cat "$body_file")"

if [ "$(api GET /api/user "" "$login:$password")" != 200 ]; then
    status="$(api PUT "/api/admin/users/$id/password" "{\"password\":\"$password\"}")"
    [ "$status" = 200 ] || fail "setting the password of $login: HTTP $status $(cat "$body_file")"
    echo "grafana-setup: password of $login set from the grafana_viewer_password secret"
fi

status="$(api PATCH "/api/org/users/$id" '{"role":"Viewer"}')"
[ "$status" = 200 ] || fail "giving $login the Viewer role: HTTP $status $(cat "$body_file")"

# Proof by the user's own eyes: it can log in, and its role is Viewer.
[ "$(api GET /api/user/orgs "" "$login:$password")" = 200 ] || fail "$login cannot log in"
grep -q '"role": *"Viewer"' "$body_file" || fail "$login is not a Viewer: $(cat "$body_file")"

echo "grafana-setup: user $login is a Viewer"
touch "$ready"
# PID 1 ignores SIGTERM without a handler: exit at once on `docker compose stop`, and take
# the sleeper along.
sleeper=
trap 'kill $sleeper 2>/dev/null; exit 0' TERM INT
while :; do
    sleep 3600 &
    sleeper=$!
    wait "$sleeper"
done
