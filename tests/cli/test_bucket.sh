# End-to-end tests of `rpbtool bucket` and the shared command-line machinery.
source "$(dirname "$0")/lib.sh" "$@"

# The numbers of a golden file's or a JSON output's "data", whitespace removed.
golden_data() { sed 's/.*"data": //; s/}$//' "$1" | tr -d ' \n'; }
json_data() { printf '%s' "$1" | sed 's/.*"data": //; s/}$//' | tr -d ' \n'; }

# --- golden maps, through JSON, CSV and NPY ---------------------------------------------
check_golden() {
    local golden=$GOLDEN/$1
    shift
    expect_ok bucket "$@" --format json
    expect_eq "json $*" "$(json_data "$out")" "$(golden_data "$golden")"
    expect_ok bucket "$@" --format csv
    expect_eq "csv $*" "[[$(printf '%s' "$out" | sed 's/,/, /g' | tr '\n' '|' | sed 's/|$//; s/|/],[/g')]]" \
        "$(sed 's/.*"data": //; s/}$//' "$golden" | sed 's/\], \[/],[/g')"
    "$RPBTOOL" bucket "$@" -o "$WORK/map.npy" || fail "npy $*"
    local rows cols
    rows=$(printf '%s' "$out" | wc -l)
    rows=$((rows + 1))
    expect_eq "npy values $*" "$(od -An -v -t d4 -j 128 "$WORK/map.npy" | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')" \
        "$(golden_data "$golden" | tr -d '[]' | tr ',' ' ')"
}
check_golden t5_b32_d128_bidirectional_q10_k10.json --qlen 10
check_golden t5_b32_d128_causal_q10_k10.json --qlen 10 --causal
check_golden t5_b32_d128_bidirectional_q4_k6_offset3.json --qlen 4 --klen 6 --offset 3
check_golden window1d_index_4.json --window 4
check_golden swin_index_2x3.json --window 2x3
check_golden beit_index_2x2_cls.json --window 2x2 --cls-token
check_golden beit_index_2x2_cls.json --type 2d --window 2 --cls-token

# --- NPY header bytes exactly as numpy writes them ---------------------------------------
"$RPBTOOL" bucket --qlen 10 -o "$WORK/m.npy"
{
    printf '\x93NUMPY\x01\x00\x76\x00'
    printf "{'descr': '<i4', 'fortran_order': False, 'shape': (10, 10), }%56s\n" ''
} >"$WORK/expected_header"
head -c 128 "$WORK/m.npy" >"$WORK/actual_header"
expect_same_file "npy header" "$WORK/actual_header" "$WORK/expected_header"
expect_eq "npy size" "$(stat -c %s "$WORK/m.npy")" "$((128 + 400))"

# --- JSON document ----------------------------------------------------------------------
expect_ok bucket --qlen 2 --format json
json_head='{"command":"bucket","type":"t5","params":{"bidirectional":true,"klen":2,"max_distance":128,"num_buckets":32,"offset":0,"qlen":2}, "dtype": "int32", "shape": [2, 2], "data": [[0, 17],'
expect_eq "json head" "${out:0:${#json_head}}" "$json_head"

# --- format from the extension, text by default ------------------------------------------
for ext in json csv txt npy; do
    "$RPBTOOL" bucket --qlen 3 -o "$WORK/x.$ext" || fail "-o x.$ext"
done
expect_eq "ext json" "$(head -c 11 "$WORK/x.json")" '{"command":'
expect_eq "ext csv" "$(head -n 1 "$WORK/x.csv")" "0,17,18"
expect_eq "ext txt" "$(head -n 1 "$WORK/x.txt")" "[[ 0 17 18]"
expect_eq "ext npy" "$(head -c 6 "$WORK/x.npy" | tail -c 5)" "NUMPY"
expect_ok bucket --qlen 3 -o -
expect_eq "-o - text" "$(printf '%s' "$out" | head -n 1)" "[[ 0 17 18]"

# --- text: large maps abbreviated like numpy ----------------------------------------------
expect_ok bucket --qlen 2000
expect_eq "abbreviated rows" "$(printf '%s\n' "$out" | wc -l)" "7"
expect_eq "abbreviated first row" "$(printf '%s\n' "$out" | head -n 1)" "[[ 0 17 18 ... 31 31 31]"

# --- summary ------------------------------------------------------------------------------
expect_ok bucket --summary
expect_eq "summary bucket 8" "$(printf '%s\n' "$out" | awk '$1 == 8')" "     8           474  -11 .. -8"
expect_eq "summary bucket 16 unused" "$(printf '%s\n' "$out" | awk '$1 == 16')" "    16             0  -"
expect_ok bucket --summary --format csv --qlen 10
expect_eq "summary csv" "$(printf '%s\n' "$out" | sed -n '1p;10p')" "$(printf 'bucket,pairs,min_distance,max_distance\n8,3,-9,-8')"
expect_ok bucket --summary --format json --window 2x2 --cls-token
expect_eq "summary json cls" "$(printf '%s' "$out" | grep -o '{"entry":9,[^}]*}')" '{"entry":9,"kind":"cls -> token","pairs":4}'
expect_error 2 "--summary writes text, json or csv, not npy" bucket --summary --format npy

# --- usage errors: exit 2, one exact line --------------------------------------------------
expect_error 2 "--num-buckets 0 is out of range: expected an integer from 1 to 1048576" bucket --num-buckets 0
expect_error 2 "--num-buckets 2 leaves no exact bucket in each half (bidirectional): expected at least 4" bucket --num-buckets 2
expect_error 2 "--max-distance 8 must be above the exact range of --num-buckets 32 (expected an integer from 9 to 2147483648)" bucket --max-distance 8
expect_error 2 "--window 0x7: each side must be a positive integer, e.g. 7 or 7x7" bucket --window 0x7
expect_error 2 "--window 7y7: expected a positive integer W or HxW, e.g. 7 or 7x7" bucket --window 7y7
expect_error 2 "--qlen -5 is out of range: expected an integer from 1 to 1048576" bucket --qlen -5
expect_error 2 "the following argument was not expected: --bogus (see rpbtool --help)" bucket --bogus
expect_error 2 "unknown command 'frob': expected bucket, bias, attn, visualize, inspect, resize, train or eval (see rpbtool --help)" frob
expect_error 2 "no command given: expected bucket, bias, attn, visualize, inspect, resize, train or eval (see rpbtool --help)"
expect_error 2 "--format xml: unknown format: expected text, json, npy or csv" bucket --format xml
expect_error 2 "--type 3d: unknown scheme: expected t5, 1d or 2d" bucket --type 3d
expect_error 2 "--qlen applies to --type t5, not --type 2d" bucket --window 7x7 --qlen 5
expect_error 2 "--window 7 applies to --type 1d or 2d, not --type t5" bucket --type t5 --window 7
expect_error 2 "--cls-token applies to --type 2d, not --type t5" bucket --cls-token

# --- run-time errors: exit 1, nothing left behind -------------------------------------------
expect_error 1 "cannot create '$WORK/missing/x.json': No such file or directory" bucket -o "$WORK/missing/x.json"
expect_error 1 "cannot write '/dev/full': No space left on device" bucket -o /dev/full
expect_error 1 "cannot read --config file '$WORK/nope.toml'" --config "$WORK/nope.toml" bucket
expect_eq "nothing left in $WORK" "$(ls -A "$WORK" | grep -c rpbtool)" "0"

# --- special targets are written in place, never replaced ----------------------------------
expect_ok bucket --qlen 100 -o /dev/null
expect_eq "/dev/null still a device" "$(stat -c %F /dev/null)" "character special file"
mkfifo "$WORK/fifo"
cat "$WORK/fifo" >"$WORK/from_fifo" &
reader=$!
"$RPBTOOL" bucket --qlen 3 --format csv -o "$WORK/fifo" || fail "write to fifo"
wait $reader
expect_eq "fifo still a fifo" "$(stat -c %F "$WORK/fifo")" "fifo"
expect_eq "fifo content" "$(head -n 1 "$WORK/from_fifo")" "0,17,18"

# --- an existing regular file is replaced whole -----------------------------------------------
echo old >"$WORK/keep.json"
expect_error 2 "--qlen -5 is out of range: expected an integer from 1 to 1048576" bucket --qlen -5 -o "$WORK/keep.json"
expect_eq "untouched on error" "$(cat "$WORK/keep.json")" "old"
"$RPBTOOL" bucket --qlen 2 -o "$WORK/keep.json"
expect_eq "replaced" "$(head -c 11 "$WORK/keep.json")" '{"command":'

# --- a closed pipe ends quietly ---------------------------------------------------------------
"$RPBTOOL" bucket --qlen 8192 --format csv 2>"$WORK/pipe_err" | head -n 1 >/dev/null
expect_eq "pipe status" "${PIPESTATUS[0]}" "0"
expect_eq "pipe stderr" "$(cat "$WORK/pipe_err")" ""

# --- binary output refused on a terminal (needs util-linux script) ----------------------------
if command -v script >/dev/null; then
    script -qec "$RPBTOOL bucket --qlen 3 --format npy" /dev/null >"$WORK/tty" 2>&1
    expect_eq "npy to a terminal" "$(tr -d '\r' <"$WORK/tty")" \
        "rpbtool: error: refusing to write binary output to a terminal (standard output): redirect it, give -o FILE, or add --force"
fi

# --- --config: TOML sections per command; the command line overrides -------------------------
printf '[bucket]\ntype = "2d"\nwindow = "2x3"\n' >"$WORK/c.toml"
expect_ok --config "$WORK/c.toml" bucket --format json
expect_eq "config" "$(json_data "$out")" "$(golden_data "$GOLDEN/swin_index_2x3.json")"
printf '[bucket]\nqlen = 10\ncausal = true\n' >"$WORK/d.toml"
expect_ok --config "$WORK/d.toml" bucket --format json
expect_eq "config t5" "$(json_data "$out")" "$(golden_data "$GOLDEN/t5_b32_d128_causal_q10_k10.json")"
expect_ok --config "$WORK/d.toml" bucket --qlen 3 --format csv
expect_eq "command line overrides" "$(printf '%s\n' "$out" | wc -l)" "3"
printf '[bucket]\nqlen = 10\nbogus = 1\n' >"$WORK/e.toml"
run --config "$WORK/e.toml" bucket
expect_eq "config unknown key status" "$status" "2"
for sample in "$TESTS"/../samples/*.toml; do
    expect_ok --config "$sample" bucket --summary
done

# --- help and version -----------------------------------------------------------------------
expect_ok --version
case $out in
"rpbtool 0.1.0 (kernel path: "${RPB_KERNEL_PATH:-*}")") pass ;;
*) fail "version: got '$out'" ;;
esac
expect_ok --help
expect_eq "help has examples" "$(printf '%s' "$out" | grep -c 'Examples:')" "1"
expect_ok bucket --help

finish
