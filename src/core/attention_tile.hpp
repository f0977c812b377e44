// Tile-level building blocks of the fused attention kernel (attention_kernel.cpp). Each runs
// the kernel path's version (src/kernels/attention_tile.cpp: AVX-512, AVX2 + FMA or scalar,
// chosen by kernel_path()). Paths agree with the plain computation within rounding: products
// within 1e-6 of sum |a||b| (plus the init's magnitude), exp within 4 ulp (the vector paths'
// Cephes polynomial; results below about 1e-38 may flush to 0).
#pragma once

#include "../kernels/kernel_types.hpp"

#include <cstdint>

namespace rpb::detail {

/// Where the bias of one logit row comes from (kernel_types.hpp); create value-initialised.
using TileBias = kernels::TileBias;

/// C(rows, cols) = init + A(rows, k) @ B(k, cols), where init is zero, or diag(row_scale) C
/// (the previous C, rescaled row by row) when `row_scale` is given, or `col_bias` broadcast
/// over the rows when that is given (not both). Any rows, cols and k; a, b, c are row-major
/// with leading dimensions lda, ldb, ldc, and nothing beyond `cols` is read or written.
/// Each C element is one chain of multiply-adds over p = 0..k-1 starting from its init
/// value, so it does not depend on how the rows or columns are blocked.
void tile_gemm(int64_t rows, int64_t cols, int64_t k, const float* a, int64_t lda, const float* b,
               int64_t ldb, float* c, int64_t ldc, const float* row_scale,
               const float* col_bias = nullptr);

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
