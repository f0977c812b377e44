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

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
