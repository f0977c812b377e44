// The tile kernel of the fused attention (src/core/attention_tile.hpp): products of any shape
// against a double-precision reference, in each of its three init modes.
#include "../src/core/attention_tile.hpp"

#include <cmath>
#include <cstdint>
#include <doctest/doctest.h>
#include <vector>

namespace {

std::vector<float> lcg_values(size_t count, uint64_t seed) {
    std::vector<float> values(count);
    uint64_t state = seed * 2862933555777941757ULL + 1;
    for (float& v : values) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        v = static_cast<float>(state >> 40) * 0x1.0p-24f - 0.5f;
    }
    return values;
}

enum class Init { zero, row_scale, col_bias };

// C = init + A B for a (rows, k) block of A and (k, cols) of B inside larger row-major
// arrays (leading dimensions one wider than needed), checked element by element.
void check_product(int64_t rows, int64_t cols, int64_t k, Init init) {
    const int64_t lda = k + 1;
    const int64_t ldb = cols + 3;
    const int64_t ldc = cols + 5;
    const std::vector<float> a = lcg_values(static_cast<size_t>(rows * lda), 1);
    const std::vector<float> b = lcg_values(static_cast<size_t>(k * ldb), 2);
    const std::vector<float> scale = lcg_values(static_cast<size_t>(rows), 3);
    const std::vector<float> bias = lcg_values(static_cast<size_t>(cols), 4);
    const std::vector<float> c_before = lcg_values(static_cast<size_t>(rows * ldc), 5);
    std::vector<float> c = c_before;
    rpb::detail::tile_gemm(rows, cols, k, a.data(), lda, b.data(), ldb, c.data(), ldc,
                           init == Init::row_scale ? scale.data() : nullptr,
                           init == Init::col_bias ? bias.data() : nullptr);
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < ldc; ++j) {
            const size_t at = static_cast<size_t>(r * ldc + j);
            if (j >= cols) {
                REQUIRE(c[at] == c_before[at]); // nothing beyond cols is written
                continue;
            }
            double want = init == Init::row_scale  ? double{c_before[at]} * scale[r]
                          : init == Init::col_bias ? double{bias[j]}
                                                   : 0.0;
            double magnitude = std::abs(want);
            for (int64_t p = 0; p < k; ++p) {
                const double term = double{a[r * lda + p]} * b[p * ldb + j];
                want += term;
                magnitude += std::abs(term);
            }
            REQUIRE(std::abs(c[at] - want) <= 1e-6 * (magnitude + 1.0));
        }
    }
}

} // namespace

TEST_CASE("tile_gemm computes products of any shape in each init mode") {
    for (const Init init : {Init::zero, Init::row_scale, Init::col_bias}) {
        for (const int64_t rows : {1, 2, 3, 4, 5, 6, 7, 11, 13, 49, 52}) {
            for (const int64_t cols : {1, 5, 16, 17, 31, 48, 64, 65, 100, 288}) {
                for (const int64_t k : {1, 3, 32, 96}) {
                    CAPTURE(rows);
                    CAPTURE(cols);
                    CAPTURE(k);
                    check_product(rows, cols, k, init);
                }
            }
        }
    }
}

TEST_CASE("tile_gemm rows do not depend on how many rows are computed together") {
    // What makes grouped attention bit-reproducible whatever the group boundaries.
    const int64_t rows = 23;
    const int64_t cols = 70;
    const int64_t k = 40;
    const std::vector<float> a = lcg_values(static_cast<size_t>(rows * k), 6);
    const std::vector<float> b = lcg_values(static_cast<size_t>(k * cols), 7);
    const std::vector<float> bias = lcg_values(static_cast<size_t>(cols), 8);
    std::vector<float> whole(static_cast<size_t>(rows * cols));
    rpb::detail::tile_gemm(rows, cols, k, a.data(), k, b.data(), cols, whole.data(), cols, nullptr,
                           bias.data());
    for (int64_t r = 0; r < rows; ++r) {
        std::vector<float> one(static_cast<size_t>(cols));
        rpb::detail::tile_gemm(1, cols, k, a.data() + r * k, k, b.data(), cols, one.data(), cols,
                               nullptr, bias.data());
        for (int64_t j = 0; j < cols; ++j) {
            REQUIRE(one[static_cast<size_t>(j)] == whole[static_cast<size_t>(r * cols + j)]);
        }
    }
}
