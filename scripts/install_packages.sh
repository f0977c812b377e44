#!/usr/bin/env bash
# Installs the Debian packages of a list that are not installed yet (apt-get update once, only
# when something is missing); the one place the set-up, test and benchmark scripts do so.
#   scripts/install_packages.sh WHO PACKAGE...
# WHO names the calling script in the message ("bench_train: installing python3-torch ...").
set -euo pipefail
(($# >= 2)) || { echo "usage: install_packages.sh WHO PACKAGE..." >&2; exit 2; }
who=$1
shift
missing=()
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0
echo "$who: installing ${missing[*]}" >&2
sudo=()
[[ $(id -u) == 0 ]] || sudo=(sudo)
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
