#!/usr/bin/env bash
# Times `rpbtool bucket` on a large T5 map as a whole process (the issue's goal: a
# q = k = 8192 map well under a second), median of REPS runs, with max RSS.
#   scripts/bench_bucket.sh          (RPBTOOL=build/rpbtool, REPS=7, QLEN=8192)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rpbtool=${RPBTOOL:-$root/build/rpbtool}
reps=${REPS:-7}
q=${QLEN:-8192}
[[ -x $rpbtool ]] || { echo "bench_bucket: no rpbtool at $rpbtool" >&2; exit 1; }
"$root/scripts/install_packages.sh" bench_bucket time
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for ((r = 0; r < reps; ++r)); do
    /usr/bin/time -f "%e %M" -o "$tmp" "$rpbtool" bucket --qlen "$q" --format npy -o /dev/null
    cat "$tmp"
done | sort -g | awk -v q="$q" -v n="$reps" '{ t[NR] = $1; if ($2 > m) m = $2 }
    END { printf "rpbtool bucket --qlen %d --format npy -o /dev/null (%d MB map): median %.2f s, max RSS %.1f MB (%d runs)\n",
          q, q * q * 4 / 1e6, t[int((n + 1) / 2)], m / 1024, n }'
