#!/usr/bin/env bash
# An independent check of the sandbox against the spec: schemathesis (PyPI) generates requests
# from each document of spec/ (valid and invalid ones, and methods the spec does not
# list), sends them to `partner-center sandbox serve` on 127.0.0.1, and checks every answer:
# documented status, content type, headers, body schema, 405 with Allow. Any failure is a bug
# in the sandbox or in the spec.
#
#   bash scripts/schemathesis.sh
#
# SCHEMATHESIS_EXAMPLES (default 50) bounds the test cases per operation and phase;
# SCHEMATHESIS_SEED (default fixed, so that CI is repeatable) picks them.
#
# Authentication: the sandbox accepts any token on purpose, so schemathesis's `ignored_auth`
# check (which also expects a made-up token to be refused) is replaced by its other half,
# `no_token_is_refused` (below): every request the sandbox answers with success is sent again
# without `Authorization`, and must get a 401.
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
# Made here, not by the background job's redirection: the loops below read it at once.
: >"$log"
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
    base_url=$(head -n 1 "$log" || true)
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
# likewise half of the $filter, $orderby and $select values are valid queries (random text
# rarely is).
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
selects = ["id,status,substatus", "customerProfile,details", "*"]
# Half of the updates ask for the referral back (`Prefer: return=representation`), so that the
# 200 branch is checked too; half send `If-Match: *`, which any eTag matches.
dictionaries = {
    "referral-ids": ("path.id", ids),
    "filters": ("query.$filter", filters),
    "orders": ("query.$orderby", orders),
    "selects": ("query.$select", selects),
    "prefer": ("header.Prefer", ["return=representation"]),
    "if-match": ("header.If-Match", ["*"]),
}
for name, (_, values) in dictionaries.items():
    print("[dictionaries." + name + "]")
    print("values = " + json.dumps(values))
print("[parameters]")
for name, (parameter, _) in dictionaries.items():
    print(json.dumps(parameter) + " = { dictionary = " + json.dumps(name) + ", probability = 0.5 }")
# positive_data_acceptance expects any request the schema allows to succeed. The answers it
# also takes are right although the schema allows the request, because JSON Schema cannot say
# why:
# - listReferrals 400: an OData $filter/$orderby/$select/$skiptoken the service cannot parse
#   (the grammar is not a schema);
# - updateReferral 412: an If-Match that is not the referral'"'"'s current eTag (which one is
#   current, the schema cannot know); 409 and 422 (RFC 5789): a patch that does not fit this
#   referral (a parent that does not exist; a value of the wrong type for its field, a field
#   the service sets, a status move the lifecycle forbids), which the sandbox tells from a
#   malformed request (400);
# - registerWebhook 409: a registration exists (one a tenant: the first valid register made it).
accepted = ["2xx", "3xx", "401", "403", "404", "429", "5xx"]
for operation, also in [
    ("listReferrals", ["400"]),
    ("createReferral", []),
    ("updateReferral", ["409", "412", "422"]),
    ("registerWebhook", ["409"]),
]:
    print("[[operations]]")
    print("include-operation-id = " + json.dumps(operation))
    print("checks.positive_data_acceptance.expected-statuses = " + json.dumps(accepted + also))
' >"$work/schemathesis.toml"

cat >"$work/no_token_check.py" <<'PY'
"""The half of schemathesis's `ignored_auth` that holds for the sandbox: no token, a 401."""
import schemathesis
# Pinned schemathesis version: its own helpers, as `ignored_auth` uses them.
from schemathesis.specs.openapi._auth_retry import get_security_parameters, remove_auth, send_probe


@schemathesis.check
def no_token_is_refused(ctx, response, case):
    """A request answered with success is refused (401) when sent without its token."""
    if not 200 <= response.status_code < 300:
        return None
    probe = remove_auth(case, get_security_parameters(case.operation))
    answer = send_probe(ctx, case, probe)
    if answer.status_code != 401:
        raise AssertionError(
            f"{case.operation.label} answered {answer.status_code} without a token, not 401"
        )
    return None
PY

# Every document of spec/, against the one sandbox that serves them all. Run from the work
# folder: schemathesis keeps its example database in the current folder.
for document in "$root"/spec/*.openapi.yaml; do
    echo "schemathesis: ${document#"$root"/}"
    (
        cd "$work"
        SCHEMATHESIS_HOOKS=no_token_check PYTHONPATH="$work" \
        "$venv/bin/schemathesis" --config-file schemathesis.toml run \
            "$document" \
            --url "$base_url" \
            --header "Authorization: Bearer sandbox" \
            --checks all \
            --exclude-checks ignored_auth \
            --max-examples "$examples" \
            --seed "$seed" \
            --workers 1 \
            --request-timeout 10
    )
done

trap - EXIT
stop
if ! grep -q '^sandbox stopped$' "$log"; then
    echo "error: the sandbox did not stop cleanly on SIGINT:" >&2
    cat "$log" >&2
    exit 1
fi
echo "schemathesis: no issues; the sandbox stopped cleanly"
