#!/usr/bin/env bash
# Times each console page (and its JSON twin) against a running server: N sequential
# requests each, one logged-in session, printing median and slowest in milliseconds.
#   scripts/console-latency.sh [BASE_URL] [N] [TOKEN]
# BASE_URL defaults to the demo's http://127.0.0.1:8080; TOKEN to none (the demo's).
set -euo pipefail
base=${1:-http://127.0.0.1:8080}
n=${2:-50}
token=${3:-}
jar=$(mktemp)
trap 'rm -f "$jar"' EXIT
curl -sf -c "$jar" -o /dev/null --data-urlencode "token=$token" "$base/login"
# a lender, a request and a profile that exist
lender=$(curl -sf -b "$jar" "$base/api/lenders?sort=open&desc=true&per=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"][0]["symbol"])')
story=$(curl -sf -b "$jar" "$base/api/requests" | python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; print(r["borrower"] + "/" + r["request_id"])')
printf '%-44s %8s %8s\n' page p50_ms max_ms
for path in "/lenders" "/lenders?sort=fill&desc=true&page=2" "/api/lenders?per=500" "/lenders/$lender" \
    "/activity?tz=0" "/api/activity?tz=0" "/activity?tz=0&from=$(date -u -d '-60 days' +%F)" \
    "/requests" "/requests/$story" "/profiles/default"; do
    for _ in $(seq "$n"); do
        curl -s -b "$jar" -o /dev/null -w '%{time_total}\n' "$base$path"
    done | sort -n | awk -v p="$path" '{ t[NR] = $1 * 1000 } END { printf "%-44s %8.1f %8.1f\n", p, t[int((NR + 1) / 2)], t[NR] }'
done
