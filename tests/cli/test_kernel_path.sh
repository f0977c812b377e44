#!/usr/bin/env bash
# The kernel path: rpbtool --version names it, RPB_KERNEL_PATH forces one, and a path that is
# unknown or that this CPU lacks is a usage error of every command (exit status 2).
source "$(dirname "$0")/lib.sh"

for path in scalar avx2 avx512; do
    if RPB_KERNEL_PATH=$path "$RPBTOOL" --version >"$WORK/version" 2>"$WORK/error"; then
        expect_eq "version on $path" "$(cat "$WORK/version")" "rpbtool 0.1.0 (kernel path: $path)"
        supported+=("$path")
    else
        # Only a path the CPU lacks may fail, and with the message that says so.
        expect_eq "$path unsupported" "$(sed 's/; it supports .*//' "$WORK/error")" \
            "rpbtool: error: RPB_KERNEL_PATH=$path: this CPU does not support it"
    fi
done
expect_eq "scalar always runs" "${supported[0]}" "scalar"

# The default is the best path the CPU supports.
best=${supported[${#supported[@]} - 1]}
out=$(env -u RPB_KERNEL_PATH "$RPBTOOL" --version)
expect_eq "default path" "$out" "rpbtool 0.1.0 (kernel path: $best)"
out=$(RPB_KERNEL_PATH= "$RPBTOOL" --version)
expect_eq "empty means default" "$out" "rpbtool 0.1.0 (kernel path: $best)"

export RPB_KERNEL_PATH=sse9
expect_error 2 "RPB_KERNEL_PATH=sse9: unknown kernel path; expected scalar, avx2 or avx512" \
    bucket --qlen 4 -o "$WORK/map.json"
expect_error 2 "RPB_KERNEL_PATH=sse9: unknown kernel path; expected scalar, avx2 or avx512" \
    --version
export RPB_KERNEL_PATH=AVX2
expect_error 2 "RPB_KERNEL_PATH=AVX2: unknown kernel path; expected scalar, avx2 or avx512" \
    attn --type t5 --qlen 8 --embed-dim 8 --heads 2 -o "$WORK/out.npy"
unset RPB_KERNEL_PATH

# Every path computes the same attention within rounding (the unit tests bound it): here,
# that each one runs and writes an output of the same size.
for path in "${supported[@]}"; do
    RPB_KERNEL_PATH=$path expect_ok attn --type t5 --qlen 70 --embed-dim 16 --heads 2 \
        -o "$WORK/attn_$path.npy"
    expect_eq "attn output size on $path" "$(wc -c <"$WORK/attn_$path.npy")" \
        "$(wc -c <"$WORK/attn_scalar.npy")"
done

finish
