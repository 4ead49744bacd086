#!/usr/bin/env bash
# Instructions (callgrind) and heap allocations (DHAT) per get-by-id request, for each client
# of `cargo xtask bench` at 1 and 32 in flight: numbers that hold on a busy machine, where
# wall-clock ones do not. Each client runs twice under valgrind (1000 and 3000 measured
# requests after the same warm-up, against the bench's loopback server); the difference over
# the 2000 extra requests leaves out start-up (TLS roots, connections). Needs valgrind.
#
#   scripts/callgrind.sh                 # every client, 1 and 32 in flight
#   scripts/callgrind.sh sdk 32          # one client, one concurrency
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet --release -p partner-center-bench
bin=target/release/partner-center-bench
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

kinds=${1:-"sdk reqwest hyper"}
in_flight=${2:-"1 32"}

coproc SERVER { "$bin" serve; }
read -r address <&"${SERVER[0]}"

# The count of `tool` over one client run of `requests` measured requests.
count() {
    local tool=$1 kind=$2 n=$3 requests=$4 file="$out/$1.$2.$3.$4"
    local client=(client --kind "$kind" --address "$address" --in-flight "$n"
        --requests "$requests" --warmup 400)
    if [ "$tool" = callgrind ]; then
        echo go | valgrind --tool=callgrind --callgrind-out-file="$file" "$bin" "${client[@]}" \
            >/dev/null 2>"$file.log"
        grep -E '^(summary|totals):' "$file" | head -1 | awk '{print $2}'
    else
        echo go | valgrind --tool=dhat --dhat-out-file="$file" "$bin" "${client[@]}" \
            >/dev/null 2>"$file.log"
        sed -nE 's/.*Total: .* in ([0-9,]+) blocks.*/\1/p' "$file.log" | tr -d ,
    fi
}

printf '%-8s %9s %16s %18s\n' client in-flight instructions/req allocations/req
for kind in $kinds; do
    for n in $in_flight; do
        ir=$(( ($(count callgrind "$kind" "$n" 3000) - $(count callgrind "$kind" "$n" 1000)) / 2000 ))
        blocks=$(( ($(count dhat "$kind" "$n" 3000) - $(count dhat "$kind" "$n" 1000)) / 2000 ))
        printf '%-8s %9s %16s %18s\n' "$kind" "$n" "$ir" "$blocks"
    done
done

# Closing its stdin stops the server.
exec {SERVER[1]}>&-
wait
