#!/bin/sh
# run.sh BINDIR - run every libFuzzer target in BINDIR for FUZZ_SECONDS (default 60) each,
# FUZZ_JOBS (default 2) at a time: the targets are single-threaded and CI machines have 2 cores,
# so eight targets take four minutes rather than eight.
#
# Each target starts from a scratch copy of its committed seed corpus, tests/fuzz/corpus/<name>/,
# so the committed corpus never grows by itself; a dictionary tests/fuzz/<name>.dict is used when
# present. A crash, leak, timeout or out-of-memory keeps its reproducer in
# build/fuzz/artifacts/<name>/ and makes the whole run fail (after the other targets have run).
# Reproduce one with:  build/fuzz/fuzzers/<name> <reproducer>
set -u
bindir=${1:?usage: run.sh BINDIR}
seconds=${FUZZ_SECONDS:-60}
here=$(cd "$(dirname "$0")" && pwd)
artifacts=$(cd "$bindir/.." && pwd)/artifacts
work=$(mktemp -d "${TMPDIR:-/tmp}/fd-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# LeakSanitizer: exactly libh2o's known exit-time caches (tests/lsan.supp), as `make check` does.
if [ -n "${LSAN_SUPP:-}" ]; then
  LSAN_OPTIONS="suppressions=$LSAN_SUPP:print_suppressions=0"
  export LSAN_OPTIONS
fi
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export UBSAN_OPTIONS

jobs=${FUZZ_JOBS:-2}
start=$(date +%s)

# run_one BIN: fuzz one target; its report goes to $work/<name>.report, a failure to .failed
run_one() {
  bin=$1
  name=$(basename "$bin")
  short=${name#fuzz_}
  mkdir -p "$work/$short" "$artifacts/$short"
  if [ -d "$here/corpus/$short" ]; then
    cp -R "$here/corpus/$short/." "$work/$short/"
  fi
  set -- -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$short/"
  if [ -f "$here/$short.dict" ]; then
    set -- "$@" -dict="$here/$short.dict"
  fi
  out=$work/$short.report
  echo "== fuzz $short: ${seconds}s, corpus $(ls "$work/$short" | wc -l) files" >"$out"
  "$bin" "$@" "$work/$short" >"$work/$short.log" 2>&1
  rc=$?
  # the last status line says how far it got: coverage, features, corpus, exec/s
  grep -E '^#[0-9]+' "$work/$short.log" | tail -n 1 >>"$out"
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$work/$short.log" >>"$out"
  if [ "$rc" -ne 0 ]; then
    {
      echo "!! fuzz $short FAILED (exit $rc); sanitizer report:"
      sed -n '/^==[0-9]*==ERROR\|^FUZZ PROPERTY\|runtime error\|^SUMMARY/,$p' "$work/$short.log" |
        head -n 80
      repro=$(grep -o "Test unit written to .*" "$work/$short.log" |
        sed 's/Test unit written to //' | tail -n 1)
      echo "!! reproducer: ${repro:-(none written; see the report above)}"
      echo "!! replay with: $bin ${repro:-<input>}"
    } >>"$out"
    touch "$work/$short.failed"
  fi
}

running=0
for bin in "$bindir"/fuzz_*; do
  [ -x "$bin" ] || continue
  run_one "$bin" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait
    running=0
  fi
done
wait
cat "$work"/*.report
failed=""
for f in "$work"/*.failed; do
  [ -e "$f" ] || continue
  n=$(basename "$f" .failed)
  failed="$failed $n"
done
echo "== fuzz: $(($(date +%s) - start))s in all"
if [ -n "$failed" ]; then
  echo "fuzz: failing targets:$failed" >&2
  exit 1
fi
echo "fuzz: every target ran clean"
