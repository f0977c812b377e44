# End-to-end tests of `rpbtool visualize`: PNG bytes, sizes from the IHDR chunk, SVG parsed by
# xmllint (libxml2-utils), standard input, and the exact one-line errors. Pixel colours and
# text layout are checked in test_visualize.cpp and test_heatmap.cpp.
source "$(dirname "$0")/lib.sh" "$@"

# png_size FILE: "WIDTHxHEIGHT" from the IHDR chunk (big-endian, bytes 16..23).
png_size() {
    local b
    b=($(od -An -v -t u1 -j 16 -N 8 "$1"))
    echo "$(((b[0] << 24) + (b[1] << 16) + (b[2] << 8) + b[3]))x$(((b[4] << 24) + (b[5] << 16) + (b[6] << 8) + b[7]))"
}
# is_png FILE: the 8-byte signature and an IHDR chunk first.
is_png() {
    [ "$(od -An -v -t x1 -N 16 "$1" | tr -d ' \n')" == "89504e470d0a1a0a0000000d49484452" ]
}
expect_png() {
    if [ -f "$2" ] && is_png "$2"; then pass; else fail "$1: $2 is not a png"; fi
}
# expect_within WHAT FILE MAX: both sides of the png at most MAX pixels.
expect_within() {
    local size w h
    size=$(png_size "$2")
    w=${size%x*}
    h=${size#*x}
    if [ "$w" -ge 100 ] && [ "$h" -ge 100 ] && [ "$w" -le "$3" ] && [ "$h" -le "$3" ]; then
        pass
    else
        fail "$1: size $size, want sides in 100..$3"
    fi
}

# make_npy FILE DESCR SHAPE DATA: a version-1.0 .npy file; DATA is a printf format of the
# raw little-endian bytes.
make_npy() {
    local dict="{'descr': '$2', 'fortran_order': False, 'shape': $3, }"
    local total=$(((10 + ${#dict} + 1 + 63) / 64 * 64))
    local hlen=$((total - 10))
    {
        printf '\x93NUMPY\x01\x00'
        printf "\\x$(printf %02x $((hlen & 255)))\\x$(printf %02x $((hlen >> 8)))"
        printf '%s%*s\n' "$dict" $((hlen - ${#dict} - 1)) ''
        printf "$4"
    } >"$1"
}

# --- the README's command works with nothing else ----------------------------------------
expect_ok visualize --type 2d --window 7x7 -o "$WORK/swin.png"
expect_png "default 2d" "$WORK/swin.png"
expect_within "default 2d" "$WORK/swin.png" 4096
# 12 heads of 13x13 tables drawn large: a 4 x 3 grid well over a thousand pixels wide.
size=$(png_size "$WORK/swin.png")
if [ "${size%x*}" -ge 1500 ]; then pass; else fail "7x7 table view too small: $size"; fi
# Standard output when it is not a terminal, same bytes as the file; deterministic.
"$RPBTOOL" visualize --type 2d --window 7x7 >"$WORK/swin_stdout.png"
expect_same_file "stdout png" "$WORK/swin_stdout.png" "$WORK/swin.png"
"$RPBTOOL" visualize --type 2d --window 7x7 -o - >"$WORK/swin_dash.png"
expect_same_file "-o - png" "$WORK/swin_dash.png" "$WORK/swin.png"

# --- every kind of picture ------------------------------------------------------------------
expect_ok visualize --what bucket -o "$WORK/t5_bucket.png"
expect_png "t5 bucket" "$WORK/t5_bucket.png"
expect_ok visualize --what bucket --causal -o "$WORK/t5_causal.png"
expect_ok visualize --heads 4 --qlen 64 -o "$WORK/t5_bias.png"
expect_ok visualize --heads 4 --view distance -o "$WORK/t5_distance.png"
expect_ok visualize --window 16 --heads 2 --view distance -o "$WORK/w1d.png"
expect_ok visualize --heads 4 --view strip -o "$WORK/t5_strip.png"
expect_ok visualize --window 16 --heads 2 --view strip -o "$WORK/w1d_strip.png"
expect_ok visualize --window 7x7 --heads 3 --view matrix -o "$WORK/swin_matrix.png"
expect_ok visualize --window 14x14 --cls-token --heads 2 --view matrix --cmap coolwarm -o "$WORK/beit.png"
expect_ok visualize --window 7x7 --cls-token --heads 2 -o "$WORK/beit_table.png"
expect_ok visualize --what attn --window 7x7 --embed-dim 96 --heads 3 -o "$WORK/attn.png"
expect_png "attn" "$WORK/attn.png"
expect_ok visualize --window 7x7 --head 1 --cell 10 --cmap gray -o "$WORK/one.png"
# One 13 x 13 panel of 10-pixel cells: small (the title sets the width).
expect_within "--head 1 --cell 10" "$WORK/one.png" 1200

# --- large inputs are bounded ----------------------------------------------------------------
expect_ok visualize --what bucket --qlen 4096 -o "$WORK/big.png"
expect_within "bucket 4096" "$WORK/big.png" 4096
expect_ok visualize --qlen 2048 --heads 12 -o "$WORK/big_bias.png"
expect_within "bias 12 x 2048" "$WORK/big_bias.png" 4096

# --- big maps are reduced while they stream, never refused ------------------------------------
# 12 heads of 4096 x 4096 (201 M values, 805 MB as float32) are drawn from the rows as they are
# computed; the note under the title says how.
expect_ok visualize --qlen 4096 --heads 12 -o "$WORK/t5_4096.png"
expect_png "t5 4096 x 12 heads" "$WORK/t5_4096.png"
expect_within "t5 4096 x 12 heads" "$WORK/t5_4096.png" 4096

# Peak memory of the command run last under timed, from /usr/bin/time -v's report.
# expect_rss_below WHAT KB SANITIZER_KB: a sanitizer build adds its shadow memory and allocator
# quarantine (about 130 MB in all here), so it gets the second bound.
timed() {
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v "$@" 2>"$WORK/time.txt"
    else
        "$@" 2>"$WORK/time.txt"
    fi
}
expect_rss_below() {
    if [ ! -x /usr/bin/time ]; then
        echo "note: /usr/bin/time is missing (Debian package time): $1: the memory bound is not checked"
        return
    fi
    local rss_kb bound_kb=$2
    rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/time.txt")
    grep -qa __asan_init "$RPBTOOL" && bound_kb=$3
    if [ -n "$rss_kb" ] && [ "$rss_kb" -lt "$bound_kb" ]; then
        pass
    else
        fail "$1 used ${rss_kb:-?} kB (want < $bound_kb): $(cat "$WORK/time.txt")"
    fi
}

# The attention of 12 heads over 4096 tokens (201 M probabilities, 805 MB) is computed a few
# query blocks at a time and reduced as it comes: the peak RSS stays far below the
# probabilities' size. (Measured: 130 MB here; 175 MB for 8192 tokens, mostly the input
# and its projections; 375 MB under AddressSanitizer, held to 500 MB.)
timed "$RPBTOOL" visualize --what attn --qlen 4096 --heads 12 --embed-dim 768 -o "$WORK/attn_4096.png"
expect_png "attn 4096 x 12 heads" "$WORK/attn_4096.png"
expect_within "attn 4096 x 12 heads" "$WORK/attn_4096.png" 4096
expect_rss_below "visualize --what attn --qlen 4096 --heads 12" 160000 500000

# What --what attn draws is what `attn --probs` writes for batch 0, bit for bit: the values the
# pages embed (float32, base64) agree with those of the same probabilities drawn as an --input.
page_values() { grep -o '"values":"[^"]*"' "$1"; }
for args in "--window 7x7 --embed-dim 96 --heads 3 --batch 4" \
    "--window 7x7 --embed-dim 96 --heads 3 --batch 64" "--qlen 300 --causal --heads 4 --embed-dim 32" \
    "--window 4x4 --cls-token --embed-dim 16 --heads 2 --batch 3"; do
    # shellcheck disable=SC2086 # the arguments are split on purpose
    expect_ok attn $args -o "$WORK/attn_out.npy" --probs "$WORK/attn_probs.npy"
    # shellcheck disable=SC2086
    expect_ok visualize --what attn $args -o "$WORK/attn_direct.html"
    expect_ok visualize --input "$WORK/attn_probs.npy" -o "$WORK/attn_input.html"
    expect_eq "attn probabilities drawn ($args)" "$(page_values "$WORK/attn_direct.html" | md5sum)" \
        "$(page_values "$WORK/attn_input.html" | md5sum)"
    [ -n "$(page_values "$WORK/attn_direct.html")" ] || fail "no values in the page ($args)"
done
rm -f "$WORK"/attn_*.npy "$WORK"/attn_*.html

# A (4, 4096, 4096) float32 array (268 MB) piped through standard input is drawn in memory
# bounded by the picture: the peak RSS stays far below the array's size (262,144 kB, also
# under a sanitizer). (Measured: about 27 MB here, 68 MB for a (12, 8192, 8192) pipe of 3.2 GB.)
"$RPBTOOL" bias --qlen 4096 --heads 4 --format npy -o - |
    timed "$RPBTOOL" visualize --input - -o "$WORK/piped.png"
expect_eq "big pipe status" "${PIPESTATUS[*]}" "0 0"
expect_png "big pipe" "$WORK/piped.png"
expect_within "big pipe" "$WORK/piped.png" 4096
expect_rss_below "visualize of a 268 MB pipe" 120000 200000
# The same array from a file gives the same cells (only the title names the origin).
"$RPBTOOL" bias --qlen 512 --heads 2 -o "$WORK/b512.npy"
"$RPBTOOL" visualize --input "$WORK/b512.npy" -o "$WORK/b512_file.png"
"$RPBTOOL" visualize --input - -o "$WORK/b512_pipe.png" <"$WORK/b512.npy"
cat "$WORK/b512.npy" | "$RPBTOOL" visualize --input - -o "$WORK/b512_pipe2.png"
expect_same_file "stdin file vs pipe" "$WORK/b512_pipe.png" "$WORK/b512_pipe2.png"
expect_eq "file vs pipe sizes" "$(png_size "$WORK/b512_file.png")" "$(png_size "$WORK/b512_pipe.png")"
# A pipe cut short: a clear error, exit 1, no png left behind, an existing one untouched.
"$RPBTOOL" bias --qlen 4096 --heads 4 --format npy -o - 2>/dev/null | head -c 5000000 |
    "$RPBTOOL" visualize --input - -o "$WORK/cut.png" 2>"$WORK/cut.err"
expect_eq "cut pipe status" "${PIPESTATUS[2]}" "1"
expect_eq "cut pipe message" "$(cat "$WORK/cut.err")" \
    "rpbtool: error: standard input: truncated .npy data: shape (4, 4096, 4096) of float32 needs 268435456 bytes, 4999872 present"
[ -e "$WORK/cut.png" ] && fail "cut.png written" || pass
cp "$WORK/one.png" "$WORK/keep_cut.png"
"$RPBTOOL" bias --qlen 4096 --heads 4 --format npy -o - 2>/dev/null | head -c 2000000 |
    "$RPBTOOL" visualize --input - -o "$WORK/keep_cut.png" 2>/dev/null
expect_same_file "cut pipe leaves the target" "$WORK/keep_cut.png" "$WORK/one.png"
rm -f "$WORK/time.txt" "$WORK/cut.err" # the temporary-file check below counts every other name

# --- arrays from files and standard input ----------------------------------------------------
"$RPBTOOL" bias --window 7x7 --heads 3 --format npy -o - | "$RPBTOOL" visualize --input - -o "$WORK/stdin.png"
expect_eq "stdin pipeline status" "${PIPESTATUS[*]}" "0 0"
expect_png "stdin" "$WORK/stdin.png"
"$RPBTOOL" bias --window 7x7 --heads 3 -o "$WORK/bias.npy"
expect_ok visualize --input "$WORK/bias.npy" -o "$WORK/file.png"
expect_eq "stdin and file draw the same sizes" "$(png_size "$WORK/stdin.png")" "$(png_size "$WORK/file.png")"
"$RPBTOOL" bucket --window 7x7 -o "$WORK/index.npy"
expect_ok visualize --input "$WORK/index.npy" -o "$WORK/index.png"
"$RPBTOOL" attn --window 7x7 --heads 3 --probs "$WORK/probs.npy" -o /dev/null
expect_ok visualize --input "$WORK/probs.npy" --head 2 -o "$WORK/probs.png"
make_npy "$WORK/i64.npy" '<i8' '(2, 2)' '\x01\0\0\0\0\0\0\0\x02\0\0\0\0\0\0\0\x03\0\0\0\0\0\0\0\x04\0\0\0\0\0\0\0'
expect_ok visualize --input "$WORK/i64.npy" -o "$WORK/i64.png"

# --- SVG: the same layout as the PNG, parsed as XML -------------------------------------------
# xpath FILE EXPR: the value of an XPath expression over the SVG (namespace-free names).
xpath() {
    xmllint --xpath "$2" "$1" 2>/dev/null
}
svg_count() { # svg_count FILE ELEMENT [PREDICATE]
    xpath "$1" "count(//*[local-name()='$2'${3:+ and $3}])"
}
expect_svg() { # expect_svg WHAT FILE: well-formed XML whose root is an SVG 1.1 svg element
    if xmllint --noout "$2" 2>/dev/null &&
        [ "$(xpath "$2" "string(/*[local-name()='svg']/@version)")" == "1.1" ] &&
        [ "$(xpath "$2" "namespace-uri(/*)")" == "http://www.w3.org/2000/svg" ]; then
        pass
    else
        fail "$1: $2 is not an SVG 1.1 document"
    fi
}
# viewbox_is_png_size WHAT SVG PNG: viewBox "0 0 W H" and width/height equal the png's size.
viewbox_is_png_size() {
    local size w h
    size=$(png_size "$3")
    w=${size%x*}
    h=${size#*x}
    expect_eq "$1 viewBox" "$(xpath "$2" "string(/*/@viewBox)")" "0 0 $w $h"
    expect_eq "$1 width x height" "$(xpath "$2" "string(/*/@width)")x$(xpath "$2" "string(/*/@height)")" "${w}x$h"
}
if command -v xmllint >/dev/null; then
    expect_ok visualize --type 2d --window 7x7 -o "$WORK/swin.svg"
    expect_svg "2d table" "$WORK/swin.svg"
    viewbox_is_png_size "2d table" "$WORK/swin.svg" "$WORK/swin.png"
    # 12 panels of 13 x 13 cells as rects, titled; the font named for the viewer.
    expect_eq "2d panels" "$(svg_count "$WORK/swin.svg" g "starts-with(@class,'panel-')")" "12"
    # Its 169 cells as rects of one cell's height, equal neighbours in a row merged into one:
    # the widths add up to 169 cells.
    cell=$(xpath "$WORK/swin.svg" "string((//*[local-name()='rect' and ../@class='panel-11'])[1]/@height)")
    expect_eq "2d panel 11 cells" \
        "$(xpath "$WORK/swin.svg" "sum(//*[local-name()='rect' and ../@class='panel-11']/@width) div $cell")" "169"
    expect_eq "2d panel 11 rows" \
        "$(xpath "$WORK/swin.svg" "count(//*[local-name()='rect' and ../@class='panel-11' and @height != $cell])")" "0"
    expect_eq "2d head 11 title" "$(svg_count "$WORK/swin.svg" text "text()='head 11'")" "1"
    expect_eq "2d tick label -6 (minus sign)" \
        "$(svg_count "$WORK/swin.svg" text "text()='$(printf '\xe2\x88\x92')6'")" "24"
    expect_eq "2d font" "$(xpath "$WORK/swin.svg" "string(//*[local-name()='g']/@font-family)")" "'DejaVu Sans', sans-serif"
    # --format svg to standard output: the same bytes.
    "$RPBTOOL" visualize --type 2d --window 7x7 --format svg >"$WORK/swin_stdout.svg"
    expect_same_file "stdout svg" "$WORK/swin_stdout.svg" "$WORK/swin.svg"
    # A large map: one embedded PNG, drawn pixelated, instead of a quarter million rects.
    expect_ok visualize --what bucket --qlen 512 -o "$WORK/big.svg"
    expect_ok visualize --what bucket --qlen 512 -o "$WORK/big_bucket.png"
    expect_svg "large map" "$WORK/big.svg"
    viewbox_is_png_size "large map" "$WORK/big.svg" "$WORK/big_bucket.png"
    expect_eq "large map image" "$(svg_count "$WORK/big.svg" image "@style='image-rendering:pixelated'")" "1"
    expect_eq "large map href" "$(xpath "$WORK/big.svg" "substring(//*[local-name()='image']/@*[local-name()='href'],1,22)")" "data:image/png;base64,"
    # The distance view: a polyline per head and a legend line per head.
    expect_ok visualize --heads 4 --view distance -o "$WORK/t5_distance.svg"
    expect_svg "distance" "$WORK/t5_distance.svg"
    viewbox_is_png_size "distance" "$WORK/t5_distance.svg" "$WORK/t5_distance.png"
    expect_eq "distance lines" "$(svg_count "$WORK/t5_distance.svg" polyline "starts-with(@class,'series-0-')")" "4"
    expect_eq "distance legend" "$(svg_count "$WORK/t5_distance.svg" polyline "@class='legend'")" "4"
    expect_eq "distance head 3" "$(svg_count "$WORK/t5_distance.svg" text "text()='head 3'")" "1"
    # Every source: bucket, attn, --input.
    expect_ok visualize --what bucket --window 7 -o "$WORK/bucket1d.svg"
    expect_svg "bucket" "$WORK/bucket1d.svg"
    expect_ok visualize --what attn --window 7x7 --embed-dim 96 --heads 3 --format svg -o "$WORK/attn.out"
    expect_svg "attn --format svg" "$WORK/attn.out"
    expect_ok visualize --input "$WORK/bias.npy" -o "$WORK/file.svg"
    expect_svg "input" "$WORK/file.svg"
    viewbox_is_png_size "input" "$WORK/file.svg" "$WORK/file.png"
else
    echo "test_visualize: xmllint not installed (libxml2-utils; scripts/setup.sh installs it): SVG structure not checked" >&2
fi
expect_error 2 "--format pdf: expected png, svg or html" visualize --window 7x7 --format pdf -o "$WORK/x.png"

# --- --dpi: more pixels for print, the same layout; the PNG says its resolution ---------------
expect_ok visualize --type 2d --window 7x7 --dpi 192 -o "$WORK/swin192.png"
size=$(png_size "$WORK/swin.png")
w=${size%x*}
h=${size#*x}
expect_eq "--dpi 192 doubles the sides" "$(png_size "$WORK/swin192.png")" "$((2 * w))x$((2 * h))"
# pHYs right after IHDR: 7559 pixels per metre (192 / 0.0254) both ways, unit metre.
expect_eq "pHYs 192 dpi" "$(od -An -v -t x1 -j 33 -N 17 "$WORK/swin192.png" | tr -d ' \n')" \
    "000000097048597300001d8700001d8701"
expect_eq "pHYs 96 dpi by default" "$(od -An -v -t x1 -j 37 -N 12 "$WORK/swin.png" | tr -d ' \n')" \
    "7048597300000ec400000ec4"
if command -v xmllint >/dev/null; then
    expect_ok visualize --type 2d --window 7x7 --dpi 192 -o "$WORK/swin192.svg"
    viewbox_is_png_size "--dpi 192" "$WORK/swin192.svg" "$WORK/swin192.png"
fi
expect_error 2 "--dpi 10 is out of range: expected 24 to 600 (96 draws one pixel per unit of the layout)" \
    visualize --window 7x7 --dpi 10 -o "$WORK/x.png"
expect_error 2 "--cmap does not apply to --view distance (a line plot: use --view strip for the colour strip)" \
    visualize --view distance --cmap magma -o "$WORK/x.png"

# --- errors: one exact line, exit 1 (run time) or 2 (usage), nothing left behind --------------
make_npy "$WORK/five.npy" '<f4' '(1, 1, 1, 1, 2)' '\0\0\x80\x3f\0\0\x80\x3f'
expect_error 1 "$WORK/five.npy: array of shape (1, 1, 1, 1, 2) has 5 dimensions; expected 2 (one panel), 3 (a panel per head) or 4 (attention probabilities, batch 0 drawn)" \
    visualize --input "$WORK/five.npy" -o "$WORK/five.png"
[ -e "$WORK/five.png" ] && fail "five.png left behind" || pass
make_npy "$WORK/empty.npy" '<f4' '(0, 3)' ''
expect_error 1 "$WORK/empty.npy: array of shape (0, 3) is empty; nothing to draw" \
    visualize --input "$WORK/empty.npy" -o "$WORK/empty.png"
make_npy "$WORK/nan.npy" '<f4' '(2, 2)' '\0\0\x80\x3f\0\0\0\0\0\0\xc0\x7f\0\0\0\0'
expect_error 1 "$WORK/nan.npy: element (1, 0) is nan (values must be finite)" \
    visualize --input "$WORK/nan.npy" -o "$WORK/nan.png"
run() { # as lib.sh's run, but standard input from the file in $stdin_file
    "$RPBTOOL" "$@" >"$WORK/stdout" 2>"$WORK/stderr" <"${stdin_file:-/dev/null}"
    status=$?
    out=$(cat "$WORK/stdout")
    err=$(cat "$WORK/stderr")
}
stdin_file=$WORK/five.npy
expect_error 1 "standard input: array of shape (1, 1, 1, 1, 2) has 5 dimensions; expected 2 (one panel), 3 (a panel per head) or 4 (attention probabilities, batch 0 drawn)" \
    visualize --input - -o "$WORK/x.png"
stdin_file=$WORK/nan.npy
expect_error 1 "standard input: element (1, 0) is nan (values must be finite)" \
    visualize --input - -o "$WORK/x.png"
stdin_file=
expect_error 1 "cannot create '$WORK/no/such/dir/x.png': No such file or directory" \
    visualize --window 7x7 -o "$WORK/no/such/dir/x.png"
expect_error 1 "cannot write '$WORK': it is a directory" visualize --window 7x7 -o "$WORK"
# A picture too large for png fails whole: an existing file is left untouched.
cp "$WORK/one.png" "$WORK/keep.png"
run visualize --what bucket --qlen 4096 --cell 256 -o "$WORK/keep.png"
expect_eq "too large status" "$status" "1"
expect_same_file "too large leaves the target" "$WORK/keep.png" "$WORK/one.png"
expect_eq "no temporary files" "$(ls "$WORK" | grep -c -v -E '\.(png|npy|svg|out)$|^std(out|err)$')" "0"

expect_error 2 "--head 3 is out of range: expected all or an integer from 0 to 2" \
    visualize --window 7x7 --heads 3 --head 3 -o "$WORK/x.png"
expect_error 2 "--head 1 is out of range: there is one panel: expected all or 0" \
    visualize --what bucket --head 1 -o "$WORK/x.png"
expect_error 2 "--head x: expected all or a head number counted from 0" visualize --head x -o "$WORK/x.png"
expect_error 2 "--what foo: expected bucket, bias or attn" visualize --what foo -o "$WORK/x.png"
expect_error 2 "--cmap jet: unknown colour map: expected viridis, magma, rdbu, coolwarm, gray" \
    visualize --cmap jet -o "$WORK/x.png"
expect_error 2 "--cell 0 is out of range: expected an integer from 1 to 256 (pixels per value)" \
    visualize --cell 0 -o "$WORK/x.png"
expect_error 2 "--view table applies to --type 2d, not --type t5: expected matrix or distance" \
    visualize --view table -o "$WORK/x.png"
expect_error 2 "--view distance applies to --type t5 or 1d, not --type 2d: expected table or matrix" \
    visualize --window 7x7 --view distance -o "$WORK/x.png"
expect_error 2 "--view diagonal: unknown view: expected matrix, table, distance or strip" \
    visualize --view diagonal -o "$WORK/x.png"
expect_error 2 "--view table draws a bias: with --what bucket only matrix is accepted" \
    visualize --what bucket --window 7x7 --view table -o "$WORK/x.png"
expect_error 2 "--heads does not apply to --what bucket" visualize --what bucket --heads 3 -o "$WORK/x.png"
expect_error 2 "--embed-dim does not apply to --what bias" visualize --embed-dim 8 -o "$WORK/x.png"
expect_error 2 "--window does not apply to --input FILE" \
    visualize --input "$WORK/bias.npy" --window 7 -o "$WORK/x.png"
expect_error 2 "--input draws an array or, with --what attn, is the attention input: not with --what bucket" \
    visualize --what bucket --input "$WORK/bias.npy" -o "$WORK/x.png"
expect_error 2 "--num-buckets applies to --type t5, not --type 2d" \
    visualize --window 7x7 --num-buckets 8 -o "$WORK/x.png"

# A terminal gets no png unless --force (script gives the command a pseudo-terminal).
if command -v script >/dev/null; then
    tty_out=$(script -qec "'$RPBTOOL' visualize --window 7x7 --heads 2" /dev/null </dev/null)
    expect_eq "terminal status" "$?" "2"
    expect_eq "terminal refused" "$(printf '%s' "$tty_out" | tr -d '\r')" \
        "rpbtool: error: refusing to write binary output to a terminal (standard output): redirect it, give -o FILE, or add --force"
fi

finish
