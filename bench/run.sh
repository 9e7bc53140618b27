#!/bin/sh
# run.sh - `make bench`: measure flightdeck on this machine and print one table of figures,
# measured next to target and the Node.js reference; save it with the machine's details in
# bench/RESULTS.md. Numbers, never pass/fail: exits 0 unless the harness itself breaks.
#
# The Makefile builds everything first and passes:
#   FLIGHTDECK_BIN  the server binary         BENCH_TOOLS  the folder of fixture and sse_fanout
# Knobs (environment): BENCH_SECONDS (each wrk run, default 5), BENCH_ROUNDS (wrk runs per
#   figure, default 3: the table gives their median), BENCH_CONNS (50), BENCH_WRK_THREADS (1),
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
SECONDS_EACH=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
WRK_THREADS=${BENCH_WRK_THREADS:-1}
CONNS=${BENCH_CONNS:-50}
EVENTS=${BENCH_EVENTS:-1000000}
TICKS=${BENCH_TICKS:-200}
EXPORT_MAX=${BENCH_EXPORT_MAX:-120}
RESULTS=${BENCH_RESULTS:-bench/RESULTS.md}
WORK=${BENCH_WORK:-$(dirname "$TOOLS")/bench-run}
HERE=$(cd "$(dirname "$0")" && pwd)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

for tool in wrk awk; do
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

# The CPU time the hypervisor gave to other guests ("steal"), from /proc/stat: on these shared
# VMs it is what makes one run half as fast as the next. cpu_snap prints the aggregate "cpu" line's
# counters; steal_pct A B: the share of all CPU time between two snapshots that was stolen.
cpu_snap() { head -n 1 /proc/stat; }
steal_pct() { printf '%s\n%s\n' "$1" "$2" | awk '
    { t = 0; for (i = 2; i <= 9; i++) t += $i; tot[NR] = t; st[NR] = $9 }
    END { d = tot[2] - tot[1]; printf "%.0f", (d > 0 ? 100 * (st[2] - st[1]) / d : 0) }'; }

# median VALUES...: the middle value (the lower middle of an even count); "" for none.
median() { printf '%s\n' "$@" | awk 'NF' | sort -n | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'; }

# wrk_run NAME [VAR=VALUE...]: one wrk run with load.lua; appends this round's NAME_rps, _p50,
# _p99, _steal, ... (wrk_figures later takes the median of the rounds).
wrk_run() {
    name=$1
    shift
    s0=$(cpu_snap)
    out=$(env "$@" BENCH_TOKEN="$TOKEN" BENCH_THREADS="$WRK_THREADS" wrk -t "$WRK_THREADS" \
        -c "$CONNS" -d "${SECONDS_EACH}s" --timeout 5s -s "$HERE/load.lua" \
        "http://127.0.0.1:$PORT" 2>&1) || {
        echo "$out" >&2
        return 1
    }
    steal=$(steal_pct "$s0" "$(cpu_snap)")
    line=$(echo "$out" | sed -n 's/^WRK //p')
    [ -n "$line" ] || { echo "$out" >&2; return 1; }
    rps=$(awk -v n="$(field "$line" requests)" -v d="$(field "$line" duration_us)" \
        'BEGIN {printf "%.0f", n / (d / 1e6)}')
    echo "$rps $(field "$line" p50_us) $(field "$line" p99_us) $(field "$line" non2xx) $(field "$line" socket_errors) $steal" >>"$WORK/rounds.$name"
    note "$name: ${rps}/s, CPU stolen ${steal} %: $line"
}

# wrk_figures NAME: the figures of NAME from its rounds: the median of each column (throughput,
# p50, p99, steal), the lowest and highest throughput, and the sums of refusals and errors.
wrk_figures() {
    f="$WORK/rounds.$1"
    [ -s "$f" ] || return 0
    col() { awk -v c="$1" '{print $c}' "$f"; }
    # shellcheck disable=SC2046 # one value per round
    fig "${1}_rps" "$(median $(col 1))"
    # shellcheck disable=SC2046
    fig "${1}_p50" "$(median $(col 2))"
    # shellcheck disable=SC2046
    fig "${1}_p99" "$(median $(col 3))"
    fig "${1}_non2xx" "$(awk '{n += $4} END {print n}' "$f")"
    fig "${1}_sockerr" "$(awk '{n += $5} END {print n}' "$f")"
    # shellcheck disable=SC2046
    fig "${1}_steal" "$(median $(col 6))"
    fig "${1}_min" "$(sort -n "$f" | head -n 1 | cut -d' ' -f1)"
    fig "${1}_max" "$(sort -n "$f" | tail -n 1 | cut -d' ' -f1)"
    fig "${1}_n" "$(wc -l <"$f" | tr -d ' ')"
}

# ---- fixtures ------------------------------------------------------------------------------
note "building the fixtures"
ids=$("$TOOLS/fixture" serve "$WORK/serve.db")
TICK_FIRST=$(field "$ids" tick_first)
TICK_LAST=$(field "$ids" tick_last)
READ_STEP=$(field "$ids" read_step)
FANOUT_STEP=$(field "$ids" fanout_step)

# ---- server 1: idle RSS, fan-out, then the first round of ticks and reads ------------------
start_server "$WORK/serve.db"
sleep 1
# shellcheck disable=SC2046 # split on purpose: "rss hwm"
set -- $(rss "$SERVER_PID")
fig rss_idle "$2"
note "idle: VmRSS $1 kB, VmHWM $2 kB"

for k in 200 1000; do
    note "fan-out to $k streams, $TICKS ticks"
    s0=$(cpu_snap)
    line=$(BENCH_TOKEN="$TOKEN" "$TOOLS/sse_fanout" --port "$PORT" --migration bench-fanout \
        --step "$FANOUT_STEP" --streams "$k" --ticks "$TICKS" --pid "$SERVER_PID") || {
        note "fan-out to $k streams failed"
        continue
    }
    fig "sse${k}_steal" "$(steal_pct "$s0" "$(cpu_snap)")"
    note "$line (CPU stolen $(get "sse${k}_steal") %)"
    fig "sse${k}_median" "$(field "$line" median_ms)"
    fig "sse${k}_p99" "$(field "$line" p99_ms)"
    fig "sse${k}_send_median" "$(field "$line" send_median_ms)"
    fig "sse${k}_send_p99" "$(field "$line" send_p99_ms)"
    fig "sse${k}_sock_median" "$(field "$line" sock_median_ms)"
    fig "sse${k}_sock_p99" "$(field "$line" sock_p99_ms)"
    fig "sse${k}_bad" "$(( $(field "$line" bad_status) + $(field "$line" timeouts) ))"
    # the server has seen nothing but idle time and these streams: its peak is theirs
    if [ "$k" = 1000 ]; then
        fig rss_1000 "$(field "$line" hwm_kb)"
    fi
done

# Each round: ticks, then the two GETs, on the same server. The rounds are interleaved rather
# than each figure's runs back to back, so that a slow spell of the VM lands in one run of each
# figure rather than in every run of one. Ticks need every step unticked at the start (each wrk
# thread sweeps its steps: tick all, then untick all), so every round after the first runs on a
# fresh copy of the fixtures (0.1-0.2 s to build) with a new server.
r=1
while [ "$r" -le "$ROUNDS" ]; do
    if [ "$r" -gt 1 ]; then
        stop_server
        rm -f "$WORK/serve.db" "$WORK/serve.db-wal" "$WORK/serve.db-shm"
        "$TOOLS/fixture" serve "$WORK/serve.db" >/dev/null
        start_server "$WORK/serve.db"
        sleep 0.5
    fi
    note "round $r of $ROUNDS: durable tick/untick, $CONNS connections, ${SECONDS_EACH}s"
    wrk_run tick BENCH_MODE=tick BENCH_MID=bench-tick BENCH_FIRST="$TICK_FIRST" \
        BENCH_LAST="$TICK_LAST" || note "the tick run failed"
    note "round $r: GET one step"
    wrk_run step BENCH_MODE=get BENCH_PATH="/api/migrations/bench-read/steps/$READ_STEP" ||
        note "the step run failed"
    note "round $r: GET a migration with 200 steps"
    wrk_run mig BENCH_MODE=get BENCH_PATH=/api/migrations/bench-read ||
        note "the migration run failed"
    r=$((r + 1))
done
stop_server
for name in tick step mig; do wrk_figures "$name"; done

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
# export_run FMT: one export, read by export_count (it counts the body's lines as they arrive,
# with less CPU than curl into a pipe into wc, on the cores the server needs); appends
# "seconds events bytes peak_kb steal" to rounds.audit_FMT.
export_run() {
    fmt=$1
    reset_peak "$SERVER_PID" || note "cannot reset VmHWM; a peak may include the export before"
    # The line count is what arrived: a cut-short export must not pass for a fast one. An export
    # slower than EXPORT_MAX seconds is cut there (the run must end): its rate is then the
    # events that arrived over the time taken, and the table says it was cut.
    s0=$(cpu_snap)
    line=$(BENCH_TOKEN="$TOKEN" "$TOOLS/export_count" --port "$PORT" --max-seconds "$EXPORT_MAX" \
        --path "/api/migrations/bench-audit/audit?format=$fmt") || true
    steal=$(steal_pct "$s0" "$(cpu_snap)")
    # shellcheck disable=SC2046 # split on purpose: "rss hwm"
    set -- $(rss "$SERVER_PID")
    hwm=$2
    status=$(field "$line" status)
    secs=$(field "$line" seconds)
    events=$(field "$line" lines)
    if [ "$fmt" = csv ] && [ -n "$events" ]; then events=$((events - 1)); fi # the header line
    if [ "$status" != 200 ] || [ -z "$events" ] || [ "$events" -le 0 ]; then
        note "$fmt export failed: $line"
        return 0
    fi
    note "$fmt: $line, $events events, VmHWM $hwm kB, CPU stolen $steal %"
    if [ "$events" != "$EVENTS" ]; then
        note "$fmt export incomplete: $events of $EVENTS events"
        fig "audit_${fmt}_cut" "$events"
    fi
    echo "$secs $events $(field "$line" bytes) $hwm $steal" >>"$WORK/rounds.audit_$fmt"
}

# The exports' figures: the median time (and the events of that run), the highest peak.
export_figures() {
    x=$1
    f="$WORK/rounds.audit_$x"
    [ -s "$f" ] || return 0
    mid=$(sort -n "$f" | awk '{v[NR] = $0} END {print v[int((NR + 1) / 2)]}')
    # shellcheck disable=SC2086 # split on purpose: the median run's fields
    set -- $mid
    fig "audit_${x}_s" "$1"
    fig "audit_${x}_eps" "$(awk -v n="$2" -v t="$1" 'BEGIN {printf "%.0f", n / t}')"
    fig "audit_${x}_mb" "$(awk -v b="$3" 'BEGIN {printf "%.0f", b / 1e6}')"
    fig "audit_${x}_rss" "$(awk '$4 > m {m = $4} END {print m}' "$f")"
    fig "audit_${x}_steal" "$5"
    fig "audit_${x}_n" "$(wc -l <"$f" | tr -d ' ')"
    fig "audit_${x}_slowest" "$(sort -n "$f" | tail -n 1 | cut -d' ' -f1)"
    fig "audit_${x}_fastest" "$(sort -n "$f" | head -n 1 | cut -d' ' -f1)"
}

r=1
while [ -n "$FORMATS" ] && [ "$r" -le "$ROUNDS" ]; do
    for fmt in $FORMATS; do export_run "$fmt"; done
    r=$((r + 1))
done
for fmt in $FORMATS; do export_figures "$fmt"; done
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
# pct V: "12 %" or "-"
pct() { [ -n "$1" ] && echo "$1 %" || echo "-"; }
# runs NAME: "17,383/s (median of 3 runs: 12,019-18,001/s)"
runs() {
    n=$(get "${1}_n")
    if [ -z "$n" ]; then echo "-"; return; fi
    if [ "$n" = 1 ]; then per_s "$(get "${1}_rps")"; return; fi
    echo "$(per_s "$(get "${1}_rps")") (median of $n runs: $(per_s "$(get "${1}_min")" | sed 's,/s,,')-$(per_s "$(get "${1}_max")"))"
}
{
    echo "| figure | measured | target | | CPU stolen | Node.js reference |"
    echo "|---|---|---|---|---|---|"
    echo "| 1. durable tick/untick, $CONNS clients: throughput | $(runs tick) | >= 25,000/s | $(verdict "$(get tick_rps)" ">=" 25000) | $(pct "$(get tick_steal)") | ~3,600/s |"
    echo "| 1. durable tick/untick: p50 latency | $(ms "$(get tick_p50)") | | | | |"
    echo "| 1. durable tick/untick: p99 latency | $(ms "$(get tick_p99)") | < 10 ms | $(verdict "$(get tick_p99)" "<" 10000) | | 40-58 ms |"
    echo "| 1. durable tick/untick: non-2xx answers, socket errors | $(get tick_non2xx), $(get tick_sockerr) | 0 | | | |"
    echo "| 2. GET one step: throughput | $(runs step) | >= 100,000/s | $(verdict "$(get step_rps)" ">=" 100000) | $(pct "$(get step_steal)") | ~21,000/s |"
    echo "| 2. GET one step: p99 latency | $(ms "$(get step_p99)") | | | | |"
    echo "| 2. GET migration (200 steps): throughput | $(runs mig) | >= 10,000/s | $(verdict "$(get mig_rps)" ">=" 10000) | $(pct "$(get mig_steal)") | |"
    echo "| 2. GET migration (200 steps): p99 latency | $(ms "$(get mig_p99)") | | | | |"
    for k in 200 1000; do
        t5=""; t8=""; v5=""; v8=""; ref=""
        if [ $k = 1000 ]; then
            t5="< 5 ms"; t8="< 8 ms"; ref="p99 ~10 ms"
            v5=$(verdict "$(get sse1000_median)" "<" 5); v8=$(verdict "$(get sse1000_p99)" "<" 8)
        fi
        echo "| 3. tick-to-screen, $k streams: median (from the tick's response) | $(msv "$(get sse${k}_median)") | $t5 | $v5 | $(pct "$(get sse${k}_steal)") | |"
        echo "| 3. tick-to-screen, $k streams: p99 (from the tick's response) | $(msv "$(get sse${k}_p99)") | $t8 | $v8 | | $ref |"
        echo "| 3. tick-to-screen, $k streams: median / p99 from the tick's request | $(msv "$(get sse${k}_send_median)") / $(msv "$(get sse${k}_send_p99)") | | | | |"
        echo "| 3. tick-to-screen, $k streams: median / p99 at the streams' sockets (kernel receive time, from the response's) | $(msv "$(get sse${k}_sock_median)") / $(msv "$(get sse${k}_sock_p99)") | | | | |"
    done
    for fmt in ndjson csv; do
        F=$(echo "$fmt" | tr '[:lower:]' '[:upper:]')
        secs=$(awk -v s="$(get audit_${fmt}_s)" -v n="$(get audit_${fmt}_n)" \
            -v lo="$(get audit_${fmt}_fastest)" -v hi="$(get audit_${fmt}_slowest)" 'BEGIN {
            if (s == "") {print "-"; exit}
            if (n > 1) printf "%.2f s (median of %d runs: %.2f-%.2f s)", s, n, lo, hi
            else printf "%.2f s", s }')
        cut=$(get audit_${fmt}_cut)
        [ -z "$cut" ] || secs="$secs (cut short: $(per_s "$cut" | sed 's,/s,,') events arrived)"
        echo "| 4. audit export, $(per_s "$EVENTS" | sed 's,/s,,') events, $F ($(get audit_${fmt}_mb) MB): seconds | $secs | | | $(pct "$(get audit_${fmt}_steal)") | |"
        echo "| 4. audit export $F: events/s | $(per_s "$(get audit_${fmt}_eps)") | >= 500,000/s | $(verdict "$(get audit_${fmt}_eps)" ">=" 500000) | | |"
        echo "| 4. audit export $F: server peak RSS | $(mb "$(get audit_${fmt}_rss)") | < 32 MB | $(verdict "$(get audit_${fmt}_rss)" "<" 32768) | | |"
    done
    echo "| 5. server peak RSS, idle | $(mb "$(get rss_idle)") | < 16 MB | $(verdict "$(get rss_idle)" "<" 16384) | | |"
    echo "| 5. server peak RSS, 1,000 event streams | $(mb "$(get rss_1000)") | < 64 MB | $(verdict "$(get rss_1000)" "<" 65536) | | ~120 MB |"
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
    echo "- load generator on the same cores (wrk -t $WRK_THREADS, the fan-out tool, export_count),"
    echo "  loopback only"
    echo "- wrk: $CONNS connections, ${SECONDS_EACH}s per run, $ROUNDS runs per figure (rounds interleaved;"
    echo "  the table gives the median of each column); fan-out: $TICKS rounds after 5 warm-up"
    echo "- CPU stolen: the share of the machine's CPU time that the hypervisor gave to other guests"
    echo "  while the figure was measured (/proc/stat \"steal\"); with 10-30 % stolen the same build"
    echo "  measured a third to half slower. Slow spells also come without any steal (the host's"
    echo "  caches and memory are shared too): compare runs, not single figures"
    echo
    cat "$TABLE"
    echo
    echo "How each figure is measured, and what limits it: bench/README.md."
} >"$RESULTS"
echo
echo "bench: written to $RESULTS"
