#!/usr/bin/env bash
# run_on_path.sh PATH RPBTOOL COMMAND...: runs COMMAND with RPB_KERNEL_PATH=PATH, or, when
# this CPU lacks that kernel path, prints why and exits 77 (CTest's SKIP_RETURN_CODE).
set -u
export RPB_KERNEL_PATH=$1
rpbtool=$2
shift 2
if ! message=$("$rpbtool" --version 2>&1); then
    echo "skipped: kernel path $RPB_KERNEL_PATH not supported here ($message)"
    exit 77
fi
echo "kernel path: $RPB_KERNEL_PATH"
exec "$@"
