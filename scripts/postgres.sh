#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback for the sync tests and benchmarks: the real server,
# from Debian's packages (installed if absent), in a cluster of its own under DIR.
#
#   scripts/postgres.sh start DIR [PORT]   initializes DIR if new, starts the server (on PORT, or
#                                          the first free port from 55432), creates the database
#                                          `partner_center` and prints its URL
#   scripts/postgres.sh stop DIR           stops it
#
# The tests read the URL from PARTNER_CENTER_TEST_POSTGRES_URL, the benchmark from
# PARTNER_CENTER_BENCH_POSTGRES_URL. The server trusts local connections: it listens on
# 127.0.0.1 only, for one machine's tests.
set -euo pipefail

usage() { echo "usage: $0 start DIR [PORT] | stop DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
command=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)
port=${3:-}

bin_dir() {
    local initdb
    initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$initdb" ]; then
        echo "installing PostgreSQL from Debian's packages" >&2
        apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
        initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)
    fi
    dirname "$initdb"
}

# PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user the
# package creates.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case $command in
start)
    bin=$(bin_dir)
    data="$dir/data"
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$dir"
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        as_owner "$bin/initdb" --pgdata "$data" --username postgres --auth trust \
            --encoding UTF8 --locale C.UTF-8 >"$dir/initdb.log"
    fi
    if [ -f "$dir/port" ]; then
        port=$(cat "$dir/port")
    elif [ -z "$port" ]; then
        # The first port nothing listens on (bash connects to it to know).
        port=55432
        while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
            port=$((port + 1))
        done
    fi
    echo "$port" >"$dir/port"
    if ! as_owner "$bin/pg_ctl" --pgdata "$data" status >/dev/null 2>&1; then
        # Durability is not what the tests measure: fsync off keeps a 2-core CI fast. The
        # socket stays in DIR, not /var/run (which may not exist or be writable).
        as_owner "$bin/pg_ctl" --pgdata "$data" --log "$dir/server.log" --wait \
            --options "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off \
                -c max_connections=200" start >&2
    fi
    url="postgres://postgres@127.0.0.1:$port/partner_center"
    if ! as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'partner_center'" | grep -q 1; then
        as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres partner_center
    fi
    echo "$url"
    ;;
stop)
    bin=$(bin_dir)
    as_owner "$bin/pg_ctl" --pgdata "$dir/data" --mode fast stop >&2
    ;;
*)
    usage
    ;;
esac
