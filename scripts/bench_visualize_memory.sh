#!/usr/bin/env bash
# Peak memory and time of the large pictures docs/visualize.md ("Size and reduction") quotes:
# each command once under /usr/bin/time -v, its peak RSS, wall and CPU seconds, as a table on
# standard output. The pictures go to a temporary folder.
#
#   scripts/bench_visualize_memory.sh        (BUILD=build-other to measure another build)
#   PIPE_QLEN=16384 scripts/bench_visualize_memory.sh   a larger piped array (12.9 GB)
#
# Peak RSS does not depend on what else runs; the times do, so run it on a quiet machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rpbtool=$root/${BUILD:-build}/rpbtool
[[ -x $rpbtool ]] || { echo "bench_visualize_memory: no $rpbtool (run scripts/setup.sh)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "bench_visualize_memory: needs /usr/bin/time (Debian package time)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

report() { # report NAME FILE: one row of the table from a /usr/bin/time -v report
    awk -v name="$1" -F': ' '
        /Maximum resident set size/ { rss = $2 }
        /User time/ { user = $2 } /System time/ { sys = $2 }
        /Elapsed \(wall clock\)/ { n = split($2, p, ":"); wall = 0; for (i = 1; i <= n; i++) wall = wall * 60 + p[i] }
        END { printf "| %s | %.0f MB | %.1f s | %.1f s |\n", name, rss / 1024, wall, user + sys }' "$2"
}

measure() { # measure NAME COMMAND...: runs the command under /usr/bin/time -v
    local name=$1
    shift
    /usr/bin/time -v -o "$work/time.txt" "$@" >/dev/null
    report "$name" "$work/time.txt"
}

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $cpu, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| command | peak RSS | wall | CPU |"
echo "|---|---|---|---|"
measure "visualize --qlen 4096 --heads 12 (T5 bias, 201 M values)" \
    "$rpbtool" visualize --qlen 4096 --heads 12 -o "$work/t5_4096.png"
measure "visualize --what attn --qlen 4096 --heads 12 --embed-dim 768 (201 M probabilities)" \
    "$rpbtool" visualize --what attn --qlen 4096 --heads 12 --embed-dim 768 -o "$work/attn_4096.png"
measure "visualize --what attn --qlen 8192 --heads 12 --embed-dim 768 (805 M probabilities)" \
    "$rpbtool" visualize --what attn --qlen 8192 --heads 12 --embed-dim 768 -o "$work/attn_8192.png"
# A pipe: each side measured on its own (time -v of a whole pipeline reports its largest
# process): the writer computes the (12, q, q) float32 array (3.2 GB for q = 8192); the reader
# draws it.
q=${PIPE_QLEN:-8192}
gb=$(awk -v q="$q" 'BEGIN { printf "%.1f", 12 * q * q * 4 / 1e9 }')
/usr/bin/time -v -o "$work/writer.txt" "$rpbtool" bias --qlen "$q" --heads 12 --format npy -o - |
    /usr/bin/time -v -o "$work/reader.txt" "$rpbtool" visualize --input - -o "$work/big.png"
report "bias --qlen $q --heads 12 --format npy -o - (writing the $gb GB array to a pipe)" "$work/writer.txt"
report "visualize --input - (drawing that array from the pipe)" "$work/reader.txt"
