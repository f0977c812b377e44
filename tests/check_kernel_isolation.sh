#!/usr/bin/env bash
# The kernel source rule (src/kernels/kernel_types.hpp): kernel files include only
# <immintrin.h>, <cstdint>, <cstddef> and headers of src/kernels/, and no kernel object
# defines a global or weak symbol outside namespace rpb::kernels::<its path>; otherwise an
# inline function compiled with AVX-512 could be the copy the linker keeps for the program.
#   check_kernel_isolation.sh SOURCE_DIR PATH=OBJECT[:OBJECT...]...
set -euo pipefail
src=$1
shift
status=0

while IFS= read -r line; do
    file=${line%%:*}
    header=$(sed -E 's/^[^#]*#include[[:space:]]*([<"][^>"]*[>"]).*/\1/' <<<"${line#*:}")
    case $header in
    '<immintrin.h>' | '<cstdint>' | '<cstddef>') ;;
    \"*\")
        name=${header//\"/}
        if [[ $name == */* || ! -f $src/src/kernels/$name ]]; then
            echo "kernel_isolation: $file includes $header, not a header of src/kernels/" >&2
            status=1
        fi
        ;;
    *)
        echo "kernel_isolation: $file includes $header; kernel files may include only" \
            "<immintrin.h>, <cstdint>, <cstddef> and headers of src/kernels/" >&2
        status=1
        ;;
    esac
done < <(grep -H '^[[:space:]]*#[[:space:]]*include' "$src"/src/kernels/*.cpp "$src"/src/kernels/*.hpp)

for arg in "$@"; do
    path=${arg%%=*}
    IFS=: read -r -a objects <<<"${arg#*=}"
    # Global (upper-case type) and weak (W, V, u) definitions, demangled.
    bad=$(nm -C --defined-only "${objects[@]}" | awk -v ns="rpb::kernels::$path::" '
        NF >= 3 && $2 ~ /^[A-Zuvw]$/ {
            name = $0; sub(/^[^ ]+ [^ ]+ /, "", name)
            if (index(name, ns) != 1 && index(name, "typeinfo") == 0) print $2 " " name
        }')
    if [[ -n $bad ]]; then
        echo "kernel_isolation: the $path kernels define symbols outside rpb::kernels::$path:" >&2
        echo "$bad" >&2
        status=1
    fi
    count=$(nm -C --defined-only "${objects[@]}" | grep -c "rpb::kernels::$path::" || true)
    if ((count == 0)); then
        echo "kernel_isolation: the $path kernels define nothing in rpb::kernels::$path" >&2
        status=1
    fi
done
((status == 0)) && echo "kernel_isolation: includes and symbols of $# kernel paths are clean"
exit $status
