// The tile kernels' entry points: each forwards to the kernel path's version
// (src/kernels/attention_tile.cpp).
#include "attention_tile.hpp"

#include "attention_internal.hpp"
#include "kernel_dispatch.hpp"

namespace rpb::detail {

static_assert(kBlockKeys == kernels::kTileKeys, "the kernels' logit rows are kBlockKeys long");

void tile_gemm(int64_t rows, int64_t cols, int64_t k, const float* a, int64_t lda, const float* b,
               int64_t ldb, float* c, int64_t ldc, const float* row_scale, const float* col_bias) {
    kernel_table().tile_gemm(rows, cols, k, a, lda, b, ldb, c, ldc, row_scale, col_bias);
}

float add_bias_and_mask(float* row, int64_t valid, const TileBias& bias) {
    return kernel_table().add_bias_and_mask(row, valid, bias);
}

float exp_row(float* row, int64_t valid, float row_max, float factor) {
    return kernel_table().exp_row(row, valid, row_max, factor);
}

void exp_inplace(float* v, int64_t n) {
    kernel_table().exp_inplace(v, n);
}

} // namespace rpb::detail
