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
/// Floats that op(B) of n columns and k rows takes in the kernel's panels (gemm_pack_b).
int64_t gemm_packed_b_floats(int64_t n, int64_t k);
/// op(B) of `args` (b, ldb, trans_b, n, k; the rest unused) into `dst` of
/// gemm_packed_b_floats(n, k) floats, 64-byte aligned: GemmArgs::packed_b for any product
/// with that op(B).
void gemm_pack_b(const GemmArgs& args, float* dst);

// The ViT's ops (src/kernels/nn.cpp; contracts in include/rpb/nn.hpp). Sums run in 16 fixed
// lanes added in a fixed order, so every path gives the same bits for the same inputs.

/// Floats of scratch that attention_head_forward/backward need for T tokens of size d.
int64_t attention_head_scratch_floats(int64_t tokens, int64_t head_dim);
void attention_head_forward(const AttentionHeadArgs& args, float* scratch);
void attention_head_backward(const AttentionHeadArgs& args, float* scratch);
/// Rows [0, rows) of LayerNorm forward over C channels.
void layernorm_forward_rows(const float* x, const float* w, const float* b, float* y, float* mean,
                            float* rstd, int64_t rows, int64_t channels, float eps);
/// Rows [0, rows) of LayerNorm backward; dx may be null; adds into dw_acc and db_acc.
void layernorm_backward_rows(const float* dy, const float* x, const float* w, const float* mean,
                             const float* rstd, float* dx, float* dw_acc, float* db_acc,
                             int64_t rows, int64_t channels);
void gelu_forward(const float* x, float* y, int64_t n);
void gelu_backward(const float* dy, const float* x, float* dx, int64_t n);
/// y[i] += x[i]
void add_inplace(float* y, const float* x, int64_t n);

} // namespace rpb::kernels::RPB_KERNEL_NS
