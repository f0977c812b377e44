#!/usr/bin/env bash
# Peak memory and time of the large pictures docs/visualize.md ("Size and reduction") quotes:
# each command once under /usr/bin/time -v, its peak RSS, wall and CPU seconds, as a table on
# standard output. The pictures go to a temporary folder.
#
#   scripts/bench_visualize_memory.sh        (BUILD=build-other to measure another build)
#
# Peak RSS does not depend on what else runs; the times do, so run it on a quiet machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rpbtool=$root/${BUILD:-build}/rpbtool
[[ -x $rpbtool ]] || { echo "bench_visualize_memory: no $rpbtool (run scripts/setup.sh)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "bench_visualize_memory: needs /usr/bin/time (Debian package time)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

measure() { # measure NAME COMMAND...: one row of the table
    local name=$1
    shift
    /usr/bin/time -v -o "$work/time.txt" bash -c "$*" >/dev/null
    awk -v name="$name" -F': ' '
        /Maximum resident set size/ { rss = $2 }
        /User time/ { user = $2 } /System time/ { sys = $2 }
        /Elapsed \(wall clock\)/ { n = split($2, p, ":"); wall = 0; for (i = 1; i <= n; i++) wall = wall * 60 + p[i] }
        END { printf "| %s | %.0f MB | %.1f s | %.1f s |\n", name, rss / 1024, wall, user + sys }' "$work/time.txt"
}

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $cpu, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| command | peak RSS | wall | CPU |"
echo "|---|---|---|---|"
measure "visualize --qlen 4096 --heads 12 (T5 bias, 201 M values)" \
    "'$rpbtool' visualize --qlen 4096 --heads 12 -o '$work/t5_4096.png'"
measure "visualize --what attn --qlen 4096 --heads 12 --embed-dim 768 (201 M probabilities)" \
    "'$rpbtool' visualize --what attn --qlen 4096 --heads 12 --embed-dim 768 -o '$work/attn_4096.png'"
measure "visualize --what attn --qlen 8192 --heads 12 --embed-dim 768 (805 M probabilities)" \
    "'$rpbtool' visualize --what attn --qlen 8192 --heads 12 --embed-dim 768 -o '$work/attn_8192.png'"
# The pipe: the writer's and the reader's peaks are one process tree's; time -v reports the
# largest single process, which is the one drawing or the one computing.
measure "bias --qlen 8192 --heads 12 --format npy -o - | visualize --input - (3.2 GB piped)" \
    "'$rpbtool' bias --qlen 8192 --heads 12 --format npy -o - | '$rpbtool' visualize --input - -o '$work/big.png'"
