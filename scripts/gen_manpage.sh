#!/usr/bin/env bash
# Writes the man page rpbtool(1) from the built rpbtool's own help texts with help2man, so
# that the page says exactly what --help says: `rpbtool --help` gives NAME, SYNOPSIS,
# DESCRIPTION, OPTIONS and EXAMPLES, each `rpbtool COMMAND --help` a subsection of COMMANDS.
# Run by the build (CMakeLists.txt, target man_page); by hand:
#   scripts/gen_manpage.sh build/rpbtool VERSION build/docs/rpbtool.1
set -euo pipefail

rpbtool=$1
version=$2
out=$3
command -v help2man >/dev/null || { echo "gen_manpage.sh: error: help2man is missing (apt-get install help2man)" >&2; exit 1; }

# The commands, as the top-level help lists them ("Subcommands:" then "  NAME  text").
commands=$("$rpbtool" --help | sed -n '/^Subcommands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
[[ -n $commands ]] || { echo "gen_manpage.sh: error: no commands in $rpbtool --help" >&2; exit 1; }

# Help text as roff, verbatim: backslashes escaped; a leading . or ' (roff requests) and a
# leading [ (help2man reads "[NAME]" in the include file as a section, and CLI11 prints
# "[Option Group: ...]") made literal.
as_roff() { sed -e 's/\\/\\e/g' -e "s/^\\([.'[]\\)/\\\\\\&\\1/"; }

include=$(mktemp)
trap 'rm -f "$include"' EXIT
{
    echo "[COMMANDS]"
    for c in $commands; do
        echo ".SS rpbtool $c"
        echo ".nf"
        "$rpbtool" "$c" --help | as_roff
        echo ".fi"
    done
    echo "[SEE ALSO]"
    echo "docs/cli.md (the full command-line reference), docs/visualize.md, docs/checkpoints.md"
    echo "and README.md in rpbtool's source tree."
} >"$include"

mkdir -p "$(dirname "$out")"
# --version-string: the page must not carry the build machine's kernel path (--version has it).
help2man --no-info --section 1 --locale C.UTF-8 --version-string "$version" \
    --name "relative position bias (T5, Swin, BEiT): bucket maps, bias tensors, attention, heatmaps" \
    --include "$include" --output "$out.tmp" "$rpbtool"
# The help's em dash as the roff glyph, so that the page renders in any locale.
sed 's/\xe2\x80\x94/\\(em/g' "$out.tmp" >"$out"
rm -f "$out.tmp"
