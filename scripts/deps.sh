#!/bin/sh
# deps.sh PACKAGE[:COMMAND]... - install the Debian packages that are missing, and nothing else.
# PACKAGE:COMMAND counts as present when COMMAND is on the PATH (node from NodeSource ships its own
# npm, and Debian's npm package then conflicts with it).
# Called by `make run`, `make test` and CI with the Makefile's package lists, so there is one list.
# Works as root; uses sudo otherwise. Quiet when everything is already there.
set -eu
missing=""
for spec in "$@"; do
  p=${spec%%:*}
  if [ "$p" != "$spec" ] && command -v "${spec#*:}" >/dev/null 2>&1; then
    continue
  fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "deps: missing packages:$missing (run as root or install sudo)" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# the package lists may be absent (fresh container) or stale; refresh once
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
