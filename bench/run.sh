#!/bin/sh
# run.sh - `make bench`: measure flightdeck on this machine and print one table of figures,
# measured next to target and the Node.js reference; save it with the machine's details in
# bench/RESULTS.md. Numbers, never pass/fail: exits 0 unless the harness itself breaks.
#
# The Makefile builds everything first and passes:
#   FLIGHTDECK_BIN  the server binary         BENCH_TOOLS  the folder of fixture and sse_fanout
# Knobs (environment): BENCH_SECONDS (each wrk run, default 10), BENCH_CONNS (50),
#   BENCH_EVENTS (audit export size, 1000000), BENCH_TICKS (fan-out rounds, 200),
#   BENCH_EXPORT_MAX (seconds an export may take before it is cut, 120),
#   BENCH_RESULTS (where the report goes, bench/RESULTS.md), BENCH_WORK (scratch folder;
#   the audit fixture needs ~2 GB there for a million events).
#
# Everything runs on 127.0.0.1 with the load generator on the same cores as the server, as the
# targets assume. How each figure is measured: bench/README.md.
set -eu

BIN=${FLIGHTDECK_BIN:?set FLIGHTDECK_BIN (make bench does)}
TOOLS=${BENCH_TOOLS:?set BENCH_TOOLS (make bench does)}
SECONDS_EACH=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNS:-50}
EVENTS=${BENCH_EVENTS:-1000000}
TICKS=${BENCH_TICKS:-200}
EXPORT_MAX=${BENCH_EXPORT_MAX:-120}
RESULTS=${BENCH_RESULTS:-bench/RESULTS.md}
WORK=${BENCH_WORK:-$(dirname "$TOOLS")/bench-run}
HERE=$(cd "$(dirname "$0")" && pwd)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

for tool in wrk curl awk; do
    command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool is missing" >&2; exit 1; }
done

rm -rf "$WORK"
mkdir -p "$WORK"
SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
# shellcheck disable=SC2317
cleanup() {
    stop_server
    [ -n "${BENCH_KEEP:-}" ] || rm -rf "$WORK" # the audit fixture alone is ~2 GB
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Every figure is kept as KEY=VALUE lines in one file; the table is printed from it at the end.
FIGS="$WORK/figures"
: >"$FIGS"
fig() { echo "$1=$2" >>"$FIGS"; }
get() { sed -n "s/^$1=//p" "$FIGS" | tail -n 1; }
# the value of key k in a "k=v k=v" line
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
note() { printf 'bench: %s\n' "$*" >&2; }

# A fresh secret for this run only; tokens live an hour.
FLIGHTDECK_JWT_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
export FLIGHTDECK_JWT_SECRET
FLIGHTDECK_ACCESS_LOG=0 # a log line per request would be measured too
export FLIGHTDECK_ACCESS_LOG
# One token drives every load: the per-caller rate limit (200/s by default) would answer 429.
# Raised out of reach rather than switched off, so its bookkeeping stays in what is measured.
FLIGHTDECK_RATE_LIMIT=1000000
FLIGHTDECK_RATE_BURST=10000000
export FLIGHTDECK_RATE_LIMIT FLIGHTDECK_RATE_BURST
TOKEN=$("$BIN" token --sub bench-engineer --name "Bench engineer" --role engineer \
    --teams data-stream --ttl 1h)

# Room for 1,000 event streams and 50 wrk connections, in the server and in the tools.
# shellcheck disable=SC3045 # dash and bash both have ulimit -n and -H
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# start_server DB: runs the server on a free port; sets SERVER_PID and PORT.
start_server() {
    # empty it here: the child truncates it only once it runs, and the old ready line (the
    # previous server's port) must not be read meanwhile
    : >"$WORK/server.out"
    "$BIN" serve --listen 127.0.0.1:0 --db "$1" >"$WORK/server.out" 2>"$WORK/server.err" &
    SERVER_PID=$!
    i=0
    while [ $i -lt 100 ]; do
        url=$(sed -n 's/^flightdeck: listening on //p' "$WORK/server.out")
        if [ -n "$url" ]; then
            PORT=${url##*:}
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    echo "bench: the server did not start:" >&2
    cat "$WORK/server.err" >&2
    exit 1
}

# rss PID: "VmRSS VmHWM" in kB.
rss() { awk '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2} END {print r, h}' "/proc/$1/status"; }
# Reset the peak (VmHWM) to the current RSS, so the next reading is this phase's peak.
reset_peak() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null; }

# wrk_run NAME [VAR=VALUE...]: one wrk run with load.lua; records NAME_rps, _p50, _p99, ...
wrk_run() {
    name=$1
    shift
    out=$(env "$@" BENCH_TOKEN="$TOKEN" BENCH_THREADS=2 wrk -t 2 -c "$CONNS" -d "${SECONDS_EACH}s" \
        --timeout 5s -s "$HERE/load.lua" "http://127.0.0.1:$PORT" 2>&1) || {
        echo "$out" >&2
        return 1
    }
    line=$(echo "$out" | sed -n 's/^WRK //p')
    [ -n "$line" ] || { echo "$out" >&2; return 1; }
    fig "${name}_rps" "$(awk -v n="$(field "$line" requests)" -v d="$(field "$line" duration_us)" \
        'BEGIN {printf "%.0f", n / (d / 1e6)}')"
    fig "${name}_p50" "$(field "$line" p50_us)"
    fig "${name}_p99" "$(field "$line" p99_us)"
    fig "${name}_non2xx" "$(field "$line" non2xx)"
    fig "${name}_sockerr" "$(field "$line" socket_errors)"
    note "$name: $line"
}

# ---- fixtures ------------------------------------------------------------------------------
note "building the fixtures"
ids=$("$TOOLS/fixture" serve "$WORK/serve.db")
TICK_FIRST=$(field "$ids" tick_first)
TICK_LAST=$(field "$ids" tick_last)
READ_STEP=$(field "$ids" read_step)
FANOUT_STEP=$(field "$ids" fanout_step)

# ---- server 1: idle RSS, fan-out, ticks, reads ---------------------------------------------
start_server "$WORK/serve.db"
sleep 1
# shellcheck disable=SC2046 # split on purpose: "rss hwm"
set -- $(rss "$SERVER_PID")
fig rss_idle "$2"
note "idle: VmRSS $1 kB, VmHWM $2 kB"

for k in 200 1000; do
    note "fan-out to $k streams, $TICKS ticks"
    line=$(BENCH_TOKEN="$TOKEN" "$TOOLS/sse_fanout" --port "$PORT" --migration bench-fanout \
        --step "$FANOUT_STEP" --streams "$k" --ticks "$TICKS" --pid "$SERVER_PID") || {
        note "fan-out to $k streams failed"
        continue
    }
    note "$line"
    fig "sse${k}_median" "$(field "$line" median_ms)"
    fig "sse${k}_p99" "$(field "$line" p99_ms)"
    fig "sse${k}_send_median" "$(field "$line" send_median_ms)"
    fig "sse${k}_send_p99" "$(field "$line" send_p99_ms)"
    fig "sse${k}_bad" "$(( $(field "$line" bad_status) + $(field "$line" timeouts) ))"
    # the server has seen nothing but idle time and these streams: its peak is theirs
    if [ "$k" = 1000 ]; then
        fig rss_1000 "$(field "$line" hwm_kb)"
    fi
done

note "durable tick/untick, $CONNS connections, ${SECONDS_EACH}s"
wrk_run tick BENCH_MODE=tick BENCH_MID=bench-tick BENCH_FIRST="$TICK_FIRST" \
    BENCH_LAST="$TICK_LAST" || note "the tick run failed"
note "GET one step"
wrk_run step BENCH_MODE=get BENCH_PATH="/api/migrations/bench-read/steps/$READ_STEP" ||
    note "the step run failed"
note "GET a migration with 200 steps"
wrk_run mig BENCH_MODE=get BENCH_PATH=/api/migrations/bench-read || note "the migration run failed"
stop_server

# ---- server 2: the audit export ------------------------------------------------------------
note "writing $EVENTS audit events"
if gen=$("$TOOLS/fixture" audit "$WORK/audit.db" "$EVENTS"); then
    note "fixture: $gen"
    start_server "$WORK/audit.db"
    sleep 0.5
    FORMATS="ndjson csv"
else
    note "the audit fixture failed: no export figures"
    FORMATS=""
fi
for fmt in $FORMATS; do
    reset_peak "$SERVER_PID" || note "cannot reset VmHWM; the CSV peak includes the NDJSON one"
    # wc -l counts what arrived: a cut-short export must not pass for a fast one. An export
    # slower than EXPORT_MAX seconds is cut there (the run must end): its rate is then the
    # events that arrived over the time taken, and the table says it was cut.
    lines=$(curl -sS --max-time "$EXPORT_MAX" -H "Authorization: Bearer $TOKEN" \
        -w '%{stderr}%{http_code} %{size_download} %{time_total}\n' \
        "http://127.0.0.1:$PORT/api/migrations/bench-audit/audit?format=$fmt" \
        2>"$WORK/curl.$fmt" | wc -l)
    # shellcheck disable=SC2046 # split on purpose: "rss hwm"
    set -- $(rss "$SERVER_PID")
    hwm=$2
    # the last line curl wrote to stderr is the -w line: status, bytes, seconds
    # shellcheck disable=SC2046
    set -- $(tail -n 1 "$WORK/curl.$fmt")
    events=$lines
    if [ "$fmt" = csv ]; then events=$((lines - 1)); fi # the header line
    if [ "${1:-}" != 200 ] || [ "$events" -le 0 ]; then
        note "$fmt export failed:"
        cat "$WORK/curl.$fmt" >&2
        continue
    fi
    note "$fmt: HTTP $1, $events events, $2 bytes, $3 s, VmHWM $hwm kB"
    if [ "$events" != "$EVENTS" ]; then
        note "$fmt export incomplete: $events of $EVENTS events"
        fig "audit_${fmt}_cut" "$events"
    fi
    set -- "$hwm" "$@"
    fig "audit_${fmt}_s" "$4"
    fig "audit_${fmt}_eps" "$(awk -v n="$events" -v t="$4" 'BEGIN {printf "%.0f", n / t}')"
    fig "audit_${fmt}_mb" "$(awk -v b="$3" 'BEGIN {printf "%.0f", b / 1e6}')"
    fig "audit_${fmt}_rss" "$1"
done
stop_server

# ---- the table -----------------------------------------------------------------------------
ms() { awk -v u="$1" 'BEGIN {if (u == "") print "-"; else printf "%.2f ms", u / 1000}'; }
mb() { awk -v k="$1" 'BEGIN {if (k == "") print "-"; else printf "%.1f MB", k / 1024}'; }
# 1234567 -> "1,234,567/s"
per_s() { awk -v n="$1" 'BEGIN {
    if (n == "") {print "-"; exit}
    s = sprintf("%.0f", n); out = ""
    while (length(s) > 3) {out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3)}
    print s out "/s" }'; }
msv() { [ -n "$1" ] && echo "$1 ms" || echo "-"; }
# verdict MEASURED OP LIMIT: "ok" or "short" (numbers only; a missing figure is "-")
verdict() { awk -v m="$1" -v op="$2" -v l="$3" 'BEGIN {
    if (m == "") {print "-"; exit}
    ok = (op == ">=") ? (m + 0 >= l + 0) : (m + 0 < l + 0); print ok ? "ok" : "SHORT" }'; }

TABLE="$WORK/table"
{
    echo "| figure | measured | target | | Node.js reference |"
    echo "|---|---|---|---|---|"
    echo "| 1. durable tick/untick, $CONNS clients: throughput | $(per_s "$(get tick_rps)") | >= 25,000/s | $(verdict "$(get tick_rps)" ">=" 25000) | ~3,600/s |"
    echo "| 1. durable tick/untick: p50 latency | $(ms "$(get tick_p50)") | | | |"
    echo "| 1. durable tick/untick: p99 latency | $(ms "$(get tick_p99)") | < 10 ms | $(verdict "$(get tick_p99)" "<" 10000) | 40-58 ms |"
    echo "| 1. durable tick/untick: non-2xx answers, socket errors | $(get tick_non2xx), $(get tick_sockerr) | 0 | | |"
    echo "| 2. GET one step: throughput | $(per_s "$(get step_rps)") | >= 100,000/s | $(verdict "$(get step_rps)" ">=" 100000) | ~21,000/s |"
    echo "| 2. GET one step: p99 latency | $(ms "$(get step_p99)") | | | |"
    echo "| 2. GET migration (200 steps): throughput | $(per_s "$(get mig_rps)") | >= 10,000/s | $(verdict "$(get mig_rps)" ">=" 10000) | |"
    echo "| 2. GET migration (200 steps): p99 latency | $(ms "$(get mig_p99)") | | | |"
    for k in 200 1000; do
        t5=""; t8=""; v5=""; v8=""; ref=""
        if [ $k = 1000 ]; then
            t5="< 5 ms"; t8="< 8 ms"; ref="p99 ~10 ms"
            v5=$(verdict "$(get sse1000_median)" "<" 5); v8=$(verdict "$(get sse1000_p99)" "<" 8)
        fi
        echo "| 3. tick-to-screen, $k streams: median (from the tick's response) | $(msv "$(get sse${k}_median)") | $t5 | $v5 | |"
        echo "| 3. tick-to-screen, $k streams: p99 (from the tick's response) | $(msv "$(get sse${k}_p99)") | $t8 | $v8 | $ref |"
        echo "| 3. tick-to-screen, $k streams: median / p99 from the tick's request | $(msv "$(get sse${k}_send_median)") / $(msv "$(get sse${k}_send_p99)") | | | |"
    done
    for fmt in ndjson csv; do
        F=$(echo "$fmt" | tr '[:lower:]' '[:upper:]')
        secs=$(awk -v s="$(get audit_${fmt}_s)" 'BEGIN {if (s == "") print "-"; else printf "%.2f s", s}')
        cut=$(get audit_${fmt}_cut)
        [ -z "$cut" ] || secs="$secs (cut short: $(per_s "$cut" | sed 's,/s,,') events arrived)"
        echo "| 4. audit export, $(per_s "$EVENTS" | sed 's,/s,,') events, $F ($(get audit_${fmt}_mb) MB): seconds | $secs | | | |"
        echo "| 4. audit export $F: events/s | $(per_s "$(get audit_${fmt}_eps)") | >= 500,000/s | $(verdict "$(get audit_${fmt}_eps)" ">=" 500000) | |"
        echo "| 4. audit export $F: server peak RSS | $(mb "$(get audit_${fmt}_rss)") | < 32 MB | $(verdict "$(get audit_${fmt}_rss)" "<" 32768) | |"
    done
    echo "| 5. server peak RSS, idle | $(mb "$(get rss_idle)") | < 16 MB | $(verdict "$(get rss_idle)" "<" 16384) | |"
    echo "| 5. server peak RSS, 1,000 event streams | $(mb "$(get rss_1000)") | < 64 MB | $(verdict "$(get rss_1000)" "<" 65536) | ~120 MB |"
} >"$TABLE"
echo
cat "$TABLE"

# ---- bench/RESULTS.md ----------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
{
    echo "# flightdeck benchmark results"
    echo
    echo "Written by \`make bench\` (bench/run.sh); each run replaces this file."
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- version: $("$BIN" version 2>/dev/null | head -n 1)"
    echo "- machine: $(nproc) CPUs, ${cpu:-unknown CPU}, kernel $(uname -r)"
    echo "- load before/after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-minute load averages;"
    echo "  anything near or above the CPU count means other work shared the machine: the figures"
    echo "  are then low and noisy, rerun on a quiet machine)"
    echo "- load generator on the same cores (wrk -t 2, the fan-out tool, curl), loopback only"
    echo "- wrk: $CONNS connections, ${SECONDS_EACH}s per run; fan-out: $TICKS rounds after 5 warm-up"
    echo
    cat "$TABLE"
    echo
    echo "How each figure is measured, and what limits it: bench/README.md."
} >"$RESULTS"
echo
echo "bench: written to $RESULTS"
