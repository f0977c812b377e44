// Types shared by the kernels (src/kernels/*.cpp) and their dispatch (src/core/).
//
// KERNEL SOURCE RULE. Every file in src/kernels/ is compiled once per kernel path, the avx2
// and avx512 copies with those instruction sets enabled, and all are linked into one binary.
// Any function with vague linkage that such a file instantiates (an inline function or a
// template from a standard or project header: std::min, std::vector, fmt, a struct's implicit
// constructor) is emitted as a weak COMDAT copy, and the linker keeps one copy for the whole
// program, possibly the AVX-512 one: a SIGILL on an AVX2-only CPU far away from the kernels.
// So kernel files include only <immintrin.h> (its functions are always inlined, never
// emitted), <cstdint>, <cstddef> (types only) and the headers of this folder, which hold
// plain aggregates and declarations, no function bodies. Helpers are `static` or in an
// anonymous namespace, everything else in namespace rpb::kernels::<path>. The test
// kernel_isolation (tests/check_kernel_isolation.sh) checks both rules: the includes, and
// that no kernel object defines a global or weak symbol outside its path's namespace.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rpb::kernels {

/// Keys per logit row of the fused attention's tiles (detail::kBlockKeys).
constexpr int64_t kTileKeys = 64;

/// Where the bias of one logit row comes from: either `direct[j]` (t5 diagonals, already
/// offset to the row and key block) or `table[index[j]]` (dense maps, gathered); the other
/// pointers null. No default member initialisers: they would give the struct an inline
/// constructor (see the rule above); create it value-initialised, `TileBias tb{}`.
struct TileBias {
    const float* direct;
    const float* table;
    const int32_t* index;
};

/// One single-precision product, C = (accumulate ? C : bias or 0) + op(A) @ op(B), in the
/// layout of include/rpb/gemm.hpp; m, n, k > 0. `bias` (n floats, added to every row; null
/// for none) is only read when accumulate is false. `packed_b` is null, or op(B) already in
/// the kernel's panels (gemm_pack_b), which are then not packed again.
struct GemmArgs {
    bool trans_a;
    bool trans_b;
    int64_t m;
    int64_t n;
    int64_t k;
    const float* a;
    int64_t lda;
    const float* b;
    int64_t ldb;
    bool accumulate;
    float* c;
    int64_t ldc;
    const float* bias;
    const float* packed_b;
};

} // namespace rpb::kernels

namespace rpb::kernels {

/// One (batch item, head) of the ViT's attention over T tokens of head size d: q, k, v rows
/// with stride ld (rows of the packed qkv), the (T, T) bias of the head (or null), probs
/// (T, T) dense, out rows with stride ldo. Backward: dout rows (stride ldo), dq/dk/dv rows
/// with stride ld; probs holds P on entry and the logit gradient dS on return.
struct AttentionHeadArgs {
    const float* q;
    const float* k;
    const float* v;
    int64_t ld;
    int64_t tokens;
    int64_t head_dim;
    float scale;
    const float* bias;
    float* probs;
    float* out;
    int64_t ldo;
    const float* dout;
    float* dq;
    float* dk;
    float* dv;
};

} // namespace rpb::kernels
