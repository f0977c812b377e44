// The functions of one kernel path, declared in namespace rpb::kernels::RPB_KERNEL_NS.
// Deliberately without an include guard: the dispatch (src/core/kernel_dispatch.cpp)
// includes it once per path with RPB_KERNEL_NS set to scalar, avx2 and avx512; each kernel
// file includes it once, with RPB_KERNEL_NS from its compile definitions. The contracts are
// those of the dispatching functions (src/core/attention_tile.hpp, include/rpb/gemm.hpp).
// See kernel_types.hpp for what a kernel file may include.
#include "kernel_types.hpp"

#ifndef RPB_KERNEL_NS
#error "RPB_KERNEL_NS (the kernel path: scalar, avx2 or avx512) must be defined"
#endif

namespace rpb::kernels::RPB_KERNEL_NS {

void tile_gemm(int64_t rows, int64_t cols, int64_t k, const float* a, int64_t lda, const float* b,
               int64_t ldb, float* c, int64_t ldc, const float* row_scale, const float* col_bias);
float add_bias_and_mask(float* row, int64_t valid, const TileBias& bias);
float exp_row(float* row, int64_t valid, float row_max, float factor);
void exp_inplace(float* v, int64_t n);

/// Floats of scratch that gemm needs for products with these n and k (64-byte aligned).
int64_t gemm_scratch_floats(int64_t n, int64_t k);
/// The product of `args`, with `scratch` of gemm_scratch_floats(args.n, args.k) floats.
void gemm(const GemmArgs& args, float* scratch);

} // namespace rpb::kernels::RPB_KERNEL_NS
