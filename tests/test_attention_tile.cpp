// The tile kernel of the fused attention (src/core/attention_tile.hpp): products of any shape
// against a double-precision reference, in each of its three init modes.
#include "../src/core/attention_tile.hpp"
#include "kernel_paths.hpp"

#include <algorithm>
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
    for_each_kernel_path([](rpb::KernelPath) {
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
    });
}

TEST_CASE("tile_gemm rows do not depend on how many rows are computed together") {
    // What makes grouped attention bit-reproducible whatever the group boundaries.
    for_each_kernel_path([](rpb::KernelPath) {
        const int64_t rows = 23;
        const int64_t cols = 70;
        const int64_t k = 40;
        const std::vector<float> a = lcg_values(static_cast<size_t>(rows * k), 6);
        const std::vector<float> b = lcg_values(static_cast<size_t>(k * cols), 7);
        const std::vector<float> bias = lcg_values(static_cast<size_t>(cols), 8);
        std::vector<float> whole(static_cast<size_t>(rows * cols));
        rpb::detail::tile_gemm(rows, cols, k, a.data(), k, b.data(), cols, whole.data(), cols,
                               nullptr, bias.data());
        for (int64_t r = 0; r < rows; ++r) {
            std::vector<float> one(static_cast<size_t>(cols));
            rpb::detail::tile_gemm(1, cols, k, a.data() + r * k, k, b.data(), cols, one.data(),
                                   cols, nullptr, bias.data());
            for (int64_t j = 0; j < cols; ++j) {
                REQUIRE(one[static_cast<size_t>(j)] == whole[static_cast<size_t>(r * cols + j)]);
            }
        }
    });
}

TEST_CASE("exp_row, exp_inplace and add_bias_and_mask agree with the plain computation") {
    constexpr int64_t keys = 64; // kBlockKeys
    for_each_kernel_path([](rpb::KernelPath) {
        const std::vector<float> x = lcg_values(keys, 9);
        const std::vector<float> table = lcg_values(100, 10);
        std::vector<int32_t> index(keys);
        for (int64_t j = 0; j < keys; ++j) {
            index[static_cast<size_t>(j)] = static_cast<int32_t>((j * 37) % 100);
        }
        for (const int64_t valid : {0, 1, 7, 16, 17, 49, 63, 64}) {
            CAPTURE(valid);
            for (const bool direct : {false, true}) {
                std::vector<float> row(x.begin(), x.end());
                rpb::detail::TileBias bias{};
                if (direct) {
                    bias.direct = table.data() + 3;
                } else {
                    bias.table = table.data();
                    bias.index = index.data();
                }
                const float mx = rpb::detail::add_bias_and_mask(row.data(), valid, bias);
                float want_max = -INFINITY;
                for (int64_t j = 0; j < keys; ++j) {
                    const auto at = static_cast<size_t>(j);
                    const float b = direct ? table[at + 3] : table[static_cast<size_t>(index[at])];
                    const float want = j < valid ? x[at] + b : -INFINITY;
                    REQUIRE(row[at] == want);
                    want_max = std::max(want_max, want);
                }
                REQUIRE(mx == want_max);
            }
            // exp within 4 ulp (relative 2.4e-7) of the double exp.
            std::vector<float> row(x.begin(), x.end());
            const float sum = rpb::detail::exp_row(row.data(), valid, 0.6f, 0.5f);
            double want_sum = 0.0;
            for (int64_t j = 0; j < keys; ++j) {
                const auto at = static_cast<size_t>(j);
                const double e = j < valid ? std::exp(double{x[at]} - 0.6f) : 0.0;
                want_sum += e;
                REQUIRE(std::abs(row[at] - 0.5 * e) <= 2.4e-7 * 0.5 * e);
            }
            REQUIRE(std::abs(sum - want_sum) <= 1e-6 * want_sum);
        }
        std::vector<float> v = {0.0f,   -1e-3f,    -0.5f,  -1.0f, -10.0f,
                                -80.0f, -INFINITY, -3.25f, -20.0f};
        const std::vector<float> before = v;
        rpb::detail::exp_inplace(v.data(), static_cast<int64_t>(v.size()));
        for (size_t i = 0; i < v.size(); ++i) {
            const double want = std::exp(double{before[i]});
            REQUIRE(std::abs(v[i] - want) <= 2.4e-7 * want);
        }
    });
}
