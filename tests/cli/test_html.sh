# The interactive page in a real browser: headless Chromium loads a page of
# `rpbtool visualize -o fig.html`, the test moves the mouse onto a known cell with the DevTools
# protocol (Input.dispatchMouseEvent: real input events, hit-tested by the browser) and checks
# the tooltip against what `rpbtool bias` and `rpbtool bucket --format json` say for that cell;
# then the head selector and the wheel zoom. Skipped (exit 77) where no Chromium is installed.
#
# The protocol runs over --remote-debugging-pipe: commands are JSON texts ended by a NUL byte,
# written to the browser's fd 3, answers read from its fd 4 (two FIFOs here). Every read has a
# timeout and the browser runs under `timeout 100`, so that the test cannot hang.
#   HTML_TEST_SCREENSHOTS=DIR   also save screenshots of the pages and hover states there
source "$(dirname "$0")/lib.sh" "$@"

# --- without a browser: every kind of picture gives a page; options and errors --------------
# expect_page WHAT FILE: a whole page with its data, loading nothing from anywhere (checked
# outside the data, whose base64 may hold any four letters).
expect_page() {
    if [ "$(head -c 15 "$2")" == "<!DOCTYPE html>" ] && [ "$(tail -c 8 "$2" | head -c 7)" == "</html>" ] &&
        [ "$(tail -c 1 "$2" | od -An -tx1 | tr -d ' ')" == "0a" ] &&
        grep -q '^<script type="application/json" id="rpb-data">.*</script>$' "$2" &&
        ! grep -v '^<script type="application/json" id="rpb-data">' "$2" |
        grep -qiE 'http|src=|href=|url\(|@import'; then
        pass
    else
        fail "$1: $2 is not a self-contained page"
    fi
}
V=$GOLDEN/vit
for args in "--what bucket" "--what bucket --window 5" "--qlen 40 --heads 3" \
    "--view strip --heads 4" "--window 4x4 --heads 2" "--window 3x3 --cls-token --view matrix" \
    "--what attn --window 3x3 --embed-dim 8 --heads 2" \
    "--checkpoint $GOLDEN/zoo/tv_swin.safetensors" "--checkpoint $GOLDEN/zoo/hf_t5.safetensors" \
    "--model $V/rpb2d_cls/model.safetensors" "--model $V/t5_cls/model.safetensors" \
    "--model $V/rpb2d_cls/model.safetensors --what attn --data $V/data --image 3"; do
    # shellcheck disable=SC2086 # the arguments are split on purpose
    expect_ok visualize $args -o "$WORK/page.html"
    expect_page "visualize $args" "$WORK/page.html"
done
expect_ok bias --window 3x3 --heads 2 --format npy -o "$WORK/b.npy"
expect_ok visualize --input "$WORK/b.npy" -o "$WORK/input.HTML"
expect_page "--input, .HTML" "$WORK/input.HTML"
# --format html to standard output: the same bytes (it is text: a terminal is no refusal).
"$RPBTOOL" visualize --input "$WORK/b.npy" --format html >"$WORK/stdout.html"
expect_same_file "--format html to stdout" "$WORK/stdout.html" "$WORK/input.HTML"
expect_ok visualize --input "$WORK/b.npy" --format png -o "$WORK/png.html"
expect_eq "--format png wins over .html" "$(head -c 4 "$WORK/png.html" | od -An -tx1 | tr -d ' ')" "89504e47"
expect_error 2 "--format svgz: expected png, svg or html" visualize --format svgz -o "$WORK/x.html"
expect_error 2 "--view distance is a line plot, which has no interactive page: write it as PNG or SVG, or use --view strip for a page of the same values" \
    visualize --view distance -o "$WORK/x.html"
expect_error 2 "--dpi does not apply to an HTML page (it sizes its cells to the window)" \
    visualize --dpi 192 -o "$WORK/x.html"
expect_error 2 "--cell does not apply to an HTML page (it sizes its cells to the window)" \
    visualize --cell 4 -o "$WORK/x.html"
expect_error 2 "--head 12 is out of range: expected all or an integer from 0 to 11" \
    visualize --head 12 -o "$WORK/x.html"
[ -e "$WORK/x.html" ] && fail "a failed visualize left $WORK/x.html" || pass

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
    echo "skipped: no Chromium installed (Debian package chromium; scripts/test.sh installs it)"
    echo "$passed passed, $failed failed before the browser checks"
    [ "$failed" -eq 0 ] && exit 77
    exit 1
fi

browser_pid=""
cleanup() {
    if [ -n "$browser_pid" ]; then
        kill "$browser_pid" 2>/dev/null
        wait "$browser_pid" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# --- the pages and what rpbtool says about their cells ---------------------------------------
expect_ok visualize --window 3x4 --heads 3 --view matrix -o "$WORK/swin.html"
expect_ok bias --window 3x4 --heads 3 --format json -o "$WORK/swin_bias.json"
expect_ok bucket --window 3x4 --format json -o "$WORK/swin_map.json"
# --format html to standard output (a browser needs the .html name to open it as a page).
"$RPBTOOL" visualize --qlen 16 --heads 2 --format html >"$WORK/t5.html"
expect_ok bias --qlen 16 --heads 2 --format json -o "$WORK/t5_bias.json"
expect_ok bucket --qlen 16 --format json -o "$WORK/t5_map.json"
expect_ok visualize --qlen 1536 --head 0 -o "$WORK/t5_big.html"

# json_at FILE INDEX: element INDEX (row-major, from 0) of the "data" of rpbtool's JSON.
json_at() {
    sed 's/.*"data"://' "$1" | tr -d '[] \n' | tr ',' '\n' | sed -n "$(($2 + 1))p" | tr -d '}'
}
# same_float A B: B is float32 value A, A printed so that it reads back (|A - B| <= 2^-24 |B|)
same_float() {
    awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b;
        exit !(a != "" && d <= m * 2 ^ -24) }'
}

# --- the browser -----------------------------------------------------------------------------
mkfifo "$WORK/to_browser" "$WORK/from_browser"
timeout 100 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$WORK/profile" --window-size=1280,900 --remote-debugging-pipe \
    about:blank 3<"$WORK/to_browser" 4>"$WORK/from_browser" >"$WORK/browser.log" 2>&1 &
browser_pid=$!
exec 5>"$WORK/to_browser" 6<"$WORK/from_browser"

# A browser that went away makes writes fail (EPIPE) instead of killing the script, and after
# one unanswered command the others fail at once: the test ends, it does not wait on a corpse.
trap '' PIPE
next_id=0
session=""
browser_gone=0
# cdp METHOD [PARAMS]: sends a command (to the page once attached) and waits up to 10 s for
# its answer, leaving it in $reply; events in between are skipped.
cdp() {
    reply=""
    [ "$browser_gone" -eq 0 ] || return 1
    next_id=$((next_id + 1))
    local params=${2:-'{}'} target=""
    [ -n "$session" ] && target=",\"sessionId\":\"$session\""
    local message
    if ! printf '{"id":%d,"method":"%s","params":%s%s}\0' "$next_id" "$1" "$params" "$target" >&5; then
        browser_gone=1
        fail "Chromium went away before $1; its log:"
        tail -5 "$WORK/browser.log" >&2
        return 1
    fi
    while IFS= read -r -d '' -t 10 message <&6; do
        case $message in
        "{\"id\":$next_id,"*)
            reply=$message
            return 0
            ;;
        esac
    done
    browser_gone=1
    fail "no answer from Chromium to $1 within 10 s; its log:"
    tail -5 "$WORK/browser.log" >&2
    return 1
}
# js EXPRESSION: evaluates it in the page, leaving a string result in $value ("" otherwise).
js() {
    cdp Runtime.evaluate "{\"expression\":$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g; s/^/"/; s/$/"/'),\"returnByValue\":true}" || return 1
    value=$(printf '%s' "$reply" | sed -n 's/.*"result":{"type":"string","value":"\(.*\)"}}.*/\1/p' | sed 's/\\n/\n/g')
}
field() { printf '%s\n' "$tip" | sed -n "s/^$1 = //p"; }

# open URL: a new tab attached to, ready when the page's script has built the figure.
open_page() {
    session=""
    cdp Target.createTarget "{\"url\":\"file://$1\"}" || return 1
    local id
    id=$(printf '%s' "$reply" | sed -n 's/.*"targetId":"\([^"]*\)".*/\1/p')
    cdp Target.attachToTarget "{\"targetId\":\"$id\",\"flatten\":true}" || return 1
    session=$(printf '%s' "$reply" | sed -n 's/.*"sessionId":"\([^"]*\)".*/\1/p')
    local tries
    for tries in $(seq 50); do
        js "typeof window.rpbFigure === 'object' ? 'ready' : document.readyState" || return 1
        [ "$value" == ready ] && return 0
        sleep 0.1
    done
    fail "the page $1 did not build its figure"
    return 1
}
# hover P R C: the mouse onto value (R, C) of panel P where the page draws it; $tip is the
# tooltip's text afterwards, $x $y the position.
hover() {
    js "(c => c ? Math.round(c.x) + ' ' + Math.round(c.y) : '')(rpbFigure.cellCenter($1, $2, $3))"
    read -r x y <<<"$value"
    if [ -z "$x" ]; then
        fail "panel $1 is not shown"
        return 1
    fi
    move_to "$x" "$y"
}
move_to() {
    cdp Input.dispatchMouseEvent "{\"type\":\"mouseMoved\",\"x\":$1,\"y\":$2}"
    js "rpbFigure.tipText()"
    tip=$value
}
screenshot() {
    [ -n "${HTML_TEST_SCREENSHOTS:-}" ] || return 0
    mkdir -p "$HTML_TEST_SCREENSHOTS"
    cdp Page.captureScreenshot '{"format":"png"}' &&
        printf '%s' "$reply" | sed 's/.*"data":"\([^"]*\)".*/\1/' | base64 -d >"$HTML_TEST_SCREENSHOTS/$1.png"
}

# check_cell WHAT HEAD Q K N BIAS_JSON MAP_JSON: the tooltip names the cell, its entry and the
# bias of head HEAD at (Q, K) of an N x N bias.
check_cell() {
    local want_value want_entry
    want_value=$(json_at "$6" $((($2 * $5 + $3) * $5 + $4)))
    want_entry=$(json_at "$7" $(($3 * $5 + $4)))
    expect_eq "$1: panel" "$(printf '%s\n' "$tip" | head -1)" "head $2"
    expect_eq "$1: query" "$(field query)" "$3"
    expect_eq "$1: key" "$(field key)" "$4"
    expect_eq "$1: entry" "$(field "$8")" "$want_entry"
    if same_float "$(field bias)" "$want_value"; then pass; else
        fail "$1: tooltip bias '$(field bias)', rpbtool bias says $want_value"
    fi
}

cdp Target.getTargets || exit 1

# A 2d window: query 7 is patch (1, 3), key 2 patch (0, 2): offset (1, 1).
open_page "$WORK/swin.html" || exit 1
screenshot swin
hover 1 7 2
screenshot swin_hover
check_cell "swin head 1 (7, 2)" 1 7 2 12 "$WORK/swin_bias.json" "$WORK/swin_map.json" "table entry"
expect_eq "swin: query patch" "$(field 'query patch (row, col)')" "(1, 3)"
expect_eq "swin: key patch" "$(field 'key patch (row, col)')" "(0, 2)"
expect_eq "swin: offset" "$(field 'offset (dy, dx)')" "(1, 1)"
# Off the cells: no tooltip.
move_to 2 2
expect_eq "tooltip off the cells" "$tip" ""

# The selector: head 2 alone, large; the same mouse path finds the same cell of head 2.
js "(s => { s.value = '2'; s.dispatchEvent(new Event('change')); return s.value; })(document.getElementById('rpb-panel'))"
expect_eq "selector" "$value" "2"
js "String(document.querySelectorAll('canvas.cells').length)"
expect_eq "one panel shown" "$value" "1"
hover 2 10 5
check_cell "swin head 2 alone (10, 5)" 2 10 5 12 "$WORK/swin_bias.json" "$WORK/swin_map.json" "table entry"
js "String(Math.round(rpbFigure.cellCenter(2, 0, 1).x - rpbFigure.cellCenter(2, 0, 0).x))"
one_head_px=$value

# Wheel zoom about the cursor: the cell stays under it, cells grow 1.25 times.
cdp Input.dispatchMouseEvent "{\"type\":\"mouseWheel\",\"x\":$x,\"y\":$y,\"deltaX\":0,\"deltaY\":-120}"
js "String(Math.round(rpbFigure.cellCenter(2, 0, 1).x - rpbFigure.cellCenter(2, 0, 0).x))"
if [ -n "$one_head_px" ] && [ "$value" -gt "$one_head_px" ]; then pass; else
    fail "wheel zoom: a cell is $value px wide, was $one_head_px"
fi
move_to "$x" "$y"
expect_eq "zoom keeps the cell under the cursor: query" "$(field query)" "10"
expect_eq "zoom keeps the cell under the cursor: key" "$(field key)" "5"
screenshot swin_zoomed

# T5 (a page written with --format html): key - query and the bucket.
open_page "$WORK/t5.html" || exit 1
hover 1 3 12
screenshot t5_hover
check_cell "t5 head 1 (3, 12)" 1 3 12 16 "$WORK/t5_bias.json" "$WORK/t5_map.json" bucket
expect_eq "t5: key - query" "$(field 'key - query')" "9"

# A reduced page: 1536 x 1536 values are more than 2^19 cells at 1:2, so a cell is a 3 x 3
# block and shows its mean.
open_page "$WORK/t5_big.html" || exit 1
# The middle of the block of queries 6..8 and keys 999..1001 (1.4 pixels wide).
hover 0 7 1000
screenshot t5_big_hover
expect_eq "reduced: queries" "$(field query)" "6 to 8"
expect_eq "reduced: keys" "$(field key)" "999 to 1001"
expect_eq "reduced: key - query" "$(field 'key - query')" "991 to 995"
case $tip in
*"mean bias of 3 x 3 values = "*) pass ;;
*) fail "reduced: tooltip does not say it shows a block mean: $tip" ;;
esac
js "document.querySelector('.note') ? document.querySelector('.note').textContent : ''"
case $value in
"reduced 1:3 "*) pass ;;
*) fail "reduced page: note '$value'" ;;
esac

session=""
cdp Browser.close
finish
