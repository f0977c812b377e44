# Helpers for the command-line tests. Each test script is run by CTest as
#   bash tests/cli/test_X.sh /path/to/rpbtool /path/to/tests
# and exits non-zero when any check failed.
set -u
RPBTOOL=$1
TESTS=$2
GOLDEN=$TESTS/golden
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0

fail() {
    echo "FAIL: $*" >&2
    failed=$((failed + 1))
}
pass() { passed=$((passed + 1)); }

# run ARGS...: runs rpbtool, leaving $out, $err and $status.
run() {
    "$RPBTOOL" "$@" >"$WORK/stdout" 2>"$WORK/stderr" </dev/null
    status=$?
    out=$(cat "$WORK/stdout")
    err=$(cat "$WORK/stderr")
}

# expect_ok ARGS...: exit status 0 and nothing on standard error.
expect_ok() {
    run "$@"
    if [ "$status" -ne 0 ] || [ -n "$err" ]; then
        fail "rpbtool $* -> status $status, stderr: $err"
    else
        pass
    fi
}

# expect_error STATUS 'exact message' ARGS...: the exit status and the exact one-line error.
expect_error() {
    local want_status=$1 want_message=$2
    shift 2
    run "$@"
    local lines
    lines=$(printf '%s\n' "$err" | wc -l)
    if [ "$status" -ne "$want_status" ]; then
        fail "rpbtool $* -> status $status, want $want_status (stderr: $err)"
    elif [ "$err" != "rpbtool: error: $want_message" ]; then
        fail "rpbtool $* -> stderr '$err', want 'rpbtool: error: $want_message'"
    elif [ "$lines" -ne 1 ]; then
        fail "rpbtool $* -> $lines lines on stderr"
    else
        pass
    fi
}

# expect_eq WHAT ACTUAL EXPECTED
expect_eq() {
    if [ "$2" == "$3" ]; then
        pass
    else
        fail "$1: got '$2', want '$3'"
    fi
}

# expect_same_file WHAT FILE1 FILE2
expect_same_file() {
    if cmp -s "$2" "$3"; then
        pass
    else
        fail "$1: $2 and $3 differ"
    fi
}

# NPY helpers for comparing float32 outputs with goldens (the files rpbtool writes have a
# 128-byte header).
npy_floats() { od -An -v -t f4 -j 128 "$1" | tr -s ' ' '\n' | sed '/^$/d'; }
npy_shape() { head -c 128 "$1" | tr -d '\0' | grep -ao "'shape': ([0-9, ]*)"; }
# max |a - b| over two value lists
max_diff() {
    paste "$1" "$2" | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { printf "%.3g\n", m + 0 }'
}
within() { awk -v d="$1" -v t="$2" 'BEGIN { exit !(d <= t) }'; }
# expect_close WHAT FILE GOLDEN TOLERANCE: same shape, max |difference| within TOLERANCE
expect_close() {
    if [ "$(npy_shape "$2")" != "$(npy_shape "$3")" ]; then
        fail "$1: shape $(npy_shape "$2"), want $(npy_shape "$3")"
        return
    fi
    npy_floats "$2" >"$WORK/a"
    npy_floats "$3" >"$WORK/b"
    local d
    d=$(max_diff "$WORK/a" "$WORK/b")
    within "$d" "$4" && pass || fail "$1: differs from the reference by $d (tolerance $4)"
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
