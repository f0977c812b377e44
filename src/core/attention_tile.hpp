// Tile-level building blocks of the fused attention kernel (attention_kernel.cpp).
#pragma once

#include <cstdint>

namespace rpb::detail {

/// Where the bias of one logit row comes from: either `direct[j]` (t5 diagonals, already
/// offset to the row and key block) or `table[index[j]]` (dense maps, gathered).
struct TileBias {
    const float* direct = nullptr;
    const float* table = nullptr;
    const int32_t* index = nullptr;
};

/// C(rows, cols) = A(rows, k) @ B(k, cols) when `row_scale` is null, otherwise
/// C = diag(row_scale) C + A @ B. rows must be a multiple of 4 and cols of 16; a, b, c are
/// row-major with leading dimensions lda, ldb, ldc.
void tile_gemm(int64_t rows, int64_t cols, int64_t k, const float* a, int64_t lda, const float* b,
               int64_t ldb, float* c, int64_t ldc, const float* row_scale);

/// One logit row of kBlockKeys entries: adds the bias to the first `valid` entries, sets the
/// rest to -inf and returns the row maximum (-inf when valid is 0). Reads no bias beyond
/// `valid`.
float add_bias_and_mask(float* row, int64_t valid, const TileBias& bias);

/// row[j] = exp(row[j] - row_max) * factor for j < valid, 0 for the rest of the kBlockKeys
/// entries; returns the sum of exp(row[j] - row_max) (before the factor).
float exp_row(float* row, int64_t valid, float row_max, float factor);

/// v[i] = exp(v[i]) for i < n, for v[i] <= 0 (-inf gives 0).
void exp_inplace(float* v, int64_t n);

} // namespace rpb::detail
