#!/bin/sh
# run.sh BINDIR - run every libFuzzer target in BINDIR for FUZZ_SECONDS (default 60) each,
# one after the other (CI machines have 2 cores; the targets are single-threaded).
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

failed=""
start=$(date +%s)
for bin in "$bindir"/fuzz_*; do
  [ -x "$bin" ] || continue
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
  echo "== fuzz $short: ${seconds}s, corpus $(ls "$work/$short" | wc -l) files"
  "$bin" "$@" "$work/$short" >"$work/$short.log" 2>&1
  rc=$?
  # the last status line says how far it got: coverage, features, corpus, exec/s
  grep -E '^#[0-9]+' "$work/$short.log" | tail -n 1
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$work/$short.log"
  if [ "$rc" -ne 0 ]; then
    echo "!! fuzz $short FAILED (exit $rc); sanitizer report:"
    sed -n '/^==[0-9]*==ERROR\|^FUZZ PROPERTY\|runtime error\|^SUMMARY/,$p' "$work/$short.log" |
      head -n 80
    repro=$(grep -o "Test unit written to .*" "$work/$short.log" | sed 's/Test unit written to //' |
      tail -n 1)
    echo "!! reproducer: ${repro:-(none written; see the report above)}"
    echo "!! replay with: $bin ${repro:-<input>}"
    failed="$failed $short"
  fi
done
echo "== fuzz: $(($(date +%s) - start))s in all"
if [ -n "$failed" ]; then
  echo "fuzz: failing targets:$failed" >&2
  exit 1
fi
echo "fuzz: every target ran clean"
