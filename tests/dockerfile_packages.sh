#!/bin/sh
# dockerfile_packages.sh - fail when the Dockerfile's Debian package lists differ from the
# Makefile's DEB_BUILD / DEB_RUNTIME (the one list scripts/deps.sh installs), or are not used.
# Run from anywhere; called by .ci/run.
set -eu
cd "$(dirname "$0")/.."

words() { tr ' \t' '\n\n' | sed '/^$/d' | sort -u; }

printed=$(make -s --no-print-directory print-packages)
mk_build=$(printf '%s\n' "$printed" | sed -n 's/^build: *//p' | words)
mk_run=$(printf '%s\n' "$printed" | sed -n 's/^runtime: *//p' | words)
df_build=$(sed -n 's/^ARG DEB_BUILD="\(.*\)"$/\1/p' Dockerfile | words)
df_run=$(sed -n 's/^ARG DEB_RUNTIME="\(.*\)"$/\1/p' Dockerfile | words)

status=0
check() { # name makefile-list dockerfile-list
  if [ -z "$2" ]; then echo "dockerfile_packages: make print-packages printed no $1 list" >&2; status=1; return; fi
  if [ -z "$3" ]; then echo "dockerfile_packages: Dockerfile has no ARG $1=\"...\" line" >&2; status=1; return; fi
  if [ "$2" != "$3" ]; then
    echo "dockerfile_packages: $1 differs (< Makefile, > Dockerfile):" >&2
    tmp=$(mktemp -d)
    printf '%s\n' "$2" >"$tmp/make"; printf '%s\n' "$3" >"$tmp/docker"
    diff "$tmp/make" "$tmp/docker" >&2 || true
    rm -rf "$tmp"
    status=1
  fi
  # declared but never installed would pass the comparison and still ship a broken image
  if ! grep -q "apt-get install.*\$$1" Dockerfile; then
    echo "dockerfile_packages: Dockerfile never installs \$$1" >&2; status=1
  fi
}
check DEB_BUILD "$mk_build" "$df_build"
check DEB_RUNTIME "$mk_run" "$df_run"
[ "$status" = 0 ] && echo "dockerfile_packages: Dockerfile and Makefile name the same packages"
exit "$status"
