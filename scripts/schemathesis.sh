#!/usr/bin/env bash
# An independent check of the sandbox against the spec: schemathesis (PyPI) generates requests
# from spec/partner-center.openapi.yaml (valid and invalid ones, and methods the spec does not
# list), sends them to `partner-center sandbox serve` on 127.0.0.1, and checks every answer:
# documented status, content type, headers, body schema, 405 with Allow. Any failure is a bug
# in the sandbox or in the spec.
#
#   bash scripts/schemathesis.sh
#
# SCHEMATHESIS_EXAMPLES (default 50) bounds the test cases per operation and phase;
# SCHEMATHESIS_SEED (default fixed, so that CI is repeatable) picks them.
#
# The `ignored_auth` check is left out: it expects `Authorization: Bearer <made-up token>` to be
# refused, and the sandbox accepts any token on purpose. The 401 without a token is tested in
# crates/partner-center-sandbox/tests/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

version=4.32.5
examples=${SCHEMATHESIS_EXAMPLES:-50}
seed=${SCHEMATHESIS_SEED:-20201030}
target=$(cd "${CARGO_TARGET_DIR:-target}" 2>/dev/null && pwd || echo "$root/target")
venv=$target/schemathesis/venv
work=$target/schemathesis/run

if [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $version" ]; then
    echo "installing schemathesis $version into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

cargo build --quiet -p partner-center-cli
bin=$target/debug/partner-center

rm -rf "$work"
mkdir -p "$work"
log=$work/serve.log
"$bin" sandbox serve --port 0 >"$log" 2>&1 &
server=$!

# Ctrl-C (SIGINT) is how the server is meant to stop; it prints "sandbox stopped" when it has.
stop() {
    kill -INT "$server" 2>/dev/null || return 0
    for _ in $(seq 100); do
        grep -q '^sandbox stopped$' "$log" && break
        sleep 0.1
    done
    grep -q '^sandbox stopped$' "$log" || kill -KILL "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null
}
trap 'stop || true' EXIT

# The first line the server prints is its base URL.
base_url=
for _ in $(seq 100); do
    base_url=$(head -n 1 "$log")
    [[ $base_url == http://127.0.0.1:* ]] && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
done
if [[ $base_url != http://127.0.0.1:* ]]; then
    echo "error: the sandbox did not start:" >&2
    cat "$log" >&2
    exit 1
fi
echo "sandbox at $base_url"

# Half of the generated ids are ones the sandbox serves, so that 200 answers are checked too;
# likewise half of the $filter and $orderby values are valid queries (random text rarely is).
"$bin" sandbox ids --limit 0 --output json | python3 -c '
import json, sys
ids = json.load(sys.stdin)
filters = [
    "status eq '"'"'New'"'"' and direction eq '"'"'Incoming'"'"'",
    "customerProfile/address/country eq '"'"'US'"'"'",
    "team/any(t:t/email eq '"'"'adele.vance@contoso.example'"'"')",
    "updatedDateTime ge 2025-05-01T00:00:00Z and name ne '"'"'O'"'"''"'"'Brien'"'"'",
    "(status eq '"'"'Active'"'"' or status eq '"'"'Closed'"'"') and substatus ne '"'"'Lost'"'"'",
]
orders = ["createdDateTime desc", "updatedDateTime", "createdDateTime desc,updatedDateTime asc"]
print("[dictionaries.referral-ids]")
print("values = " + json.dumps(ids))
print("[dictionaries.filters]")
print("values = " + json.dumps(filters))
print("[dictionaries.orders]")
print("values = " + json.dumps(orders))
print("[parameters]")
print("\"path.id\" = { dictionary = \"referral-ids\", probability = 0.5 }")
print("\"query.$filter\" = { dictionary = \"filters\", probability = 0.5 }")
print("\"query.$orderby\" = { dictionary = \"orders\", probability = 0.5 }")
# positive_data_acceptance expects any request the schema allows to succeed; these answers
# are right although the schema allows the request, because JSON Schema cannot say why:
# - listReferrals 400: an OData $filter/$orderby/$select/$skiptoken the service cannot parse
#   (the grammar is not a schema);
# - createReferral 400: a body without type/customerProfile/consent/details (required on
#   create only: the request body is the read schema Referral), or with a status/substatus
#   pair the lifecycle forbids;
# - updateReferral 400: a patch that does not apply to this referral (a path that does not
#   exist, a value of the wrong type there, a forbidden status move);
#   412: an If-Match that is not the referral'"'"'s current eTag.
accepted = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
for operation, also in [
    ("listReferrals", ["400"]),
    ("createReferral", ["400"]),
    ("updateReferral", ["400", "412"]),
]:
    print("[[operations]]")
    print("include-operation-id = " + json.dumps(operation))
    print("checks.positive_data_acceptance.expected-statuses = " + json.dumps(accepted + also))
' >"$work/schemathesis.toml"

# Run from the work folder: schemathesis keeps its example database in the current folder.
(
    cd "$work"
    "$venv/bin/schemathesis" --config-file schemathesis.toml run \
        "$root/spec/partner-center.openapi.yaml" \
        --url "$base_url" \
        --header "Authorization: Bearer sandbox" \
        --checks all \
        --exclude-checks ignored_auth \
        --max-examples "$examples" \
        --seed "$seed" \
        --workers 1 \
        --request-timeout 10
)

trap - EXIT
stop
if ! grep -q '^sandbox stopped$' "$log"; then
    echo "error: the sandbox did not stop cleanly on SIGINT:" >&2
    cat "$log" >&2
    exit 1
fi
echo "schemathesis: no issues; the sandbox stopped cleanly"
