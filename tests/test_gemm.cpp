// rpb::gemm (include/rpb/gemm.hpp) against gemm_reference, on every kernel path this CPU
// supports: all four transpose combinations, both beta values, sizes 0, 1, odd, and the edges
// of every path's blocking (MR 4/6/12, NR 8/16/32, KC 256/384, NC 192/256/512).
// Tolerance: |c - ref| <= (k + 1) * 2^-24 * (sum_p |a_ip||b_pj| + |c0_ij|), the classic bound
// of a float dot product of length k. On the vector paths every element is in addition
// exactly the FMA chain over p = 0..k-1 starting from beta * c0 (the determinism contract).
#include "kernel_paths.hpp"
#include "rpb/error.hpp"
#include "rpb/gemm.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <doctest/doctest.h>
#include <vector>

namespace {

std::vector<float> lcg_values(int64_t count, uint64_t seed) {
    std::vector<float> values(static_cast<size_t>(count));
    uint64_t state = seed * 2862933555777941757ULL + 1;
    for (float& v : values) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        v = static_cast<float>(state >> 40) * 0x1.0p-23f - 1.0f;
    }
    return values;
}

void check_gemm(rpb::KernelPath path, const rpb::GemmShape& s, float beta) {
    CAPTURE(s.trans_a);
    CAPTURE(s.trans_b);
    CAPTURE(s.m);
    CAPTURE(s.n);
    CAPTURE(s.k);
    CAPTURE(beta);
    // Leading dimensions wider than needed; C's extra columns must stay untouched.
    const int64_t lda = (s.trans_a ? s.m : s.k) + 3;
    const int64_t ldb = (s.trans_b ? s.k : s.n) + 1;
    const int64_t ldc = s.n + 5;
    const std::vector<float> a = lcg_values((s.trans_a ? s.k : s.m) * lda + 1, 1);
    const std::vector<float> b = lcg_values((s.trans_b ? s.n : s.k) * ldb + 1, 2);
    const std::vector<float> c0 = lcg_values(s.m * ldc + 1, 3);
    std::vector<float> c = c0;
    std::vector<float> want = c0;
    rpb::gemm(s, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
    rpb::gemm_reference(s, a.data(), lda, b.data(), ldb, beta, want.data(), ldc);
    const bool fma_chain = path != rpb::KernelPath::scalar;
    for (int64_t i = 0; i < s.m; ++i) {
        for (int64_t j = 0; j < ldc; ++j) {
            const auto at = static_cast<size_t>(i * ldc + j);
            if (j >= s.n) {
                REQUIRE(c[at] == c0[at]);
                continue;
            }
            double magnitude = beta == 0.0f ? 0.0 : std::abs(double{c0[at]});
            float chain = beta == 0.0f ? 0.0f : c0[at];
            for (int64_t p = 0; p < s.k; ++p) {
                const float av = s.trans_a ? a[static_cast<size_t>(p * lda + i)]
                                           : a[static_cast<size_t>(i * lda + p)];
                const float bv = s.trans_b ? b[static_cast<size_t>(j * ldb + p)]
                                           : b[static_cast<size_t>(p * ldb + j)];
                magnitude += std::abs(double{av} * bv);
                chain = std::fma(av, bv, chain);
            }
            const double tolerance = static_cast<double>(s.k + 1) * 0x1.0p-24 * magnitude;
            REQUIRE(std::abs(double{c[at]} - want[at]) <= tolerance);
            if (fma_chain) {
                REQUIRE(c[at] == chain);
            }
        }
    }
}

void check_all_forms(rpb::KernelPath path, int64_t m, int64_t n, int64_t k) {
    for (const bool ta : {false, true}) {
        for (const bool tb : {false, true}) {
            for (const float beta : {0.0f, 1.0f}) {
                check_gemm(path, {.trans_a = ta, .trans_b = tb, .m = m, .n = n, .k = k}, beta);
            }
        }
    }
}

} // namespace

TEST_CASE("gemm matches the reference on small shapes") {
    for_each_kernel_path([](rpb::KernelPath path) {
        for (const int64_t m : {0, 1, 2, 3, 5, 6, 7, 11, 12, 13, 17, 25}) {
            for (const int64_t n : {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33}) {
                for (const int64_t k : {0, 1, 2, 5, 16, 17}) {
                    check_all_forms(path, m, n, k);
                }
            }
        }
    });
}

TEST_CASE("gemm matches the reference across every blocking edge") {
    for_each_kernel_path([](rpb::KernelPath path) {
        // k across KC (256, 384), n across NC (192, 256, 512), and the attention head shapes.
        check_all_forms(path, 13, 70, 257);
        check_all_forms(path, 5, 33, 385);
        check_all_forms(path, 3, 20, 800);
        check_all_forms(path, 7, 193, 9);
        check_all_forms(path, 9, 257, 5);
        check_all_forms(path, 14, 513, 3);
        check_all_forms(path, 2, 1030, 2);
        check_all_forms(path, 50, 50, 16);
        check_all_forms(path, 50, 16, 50);
        check_all_forms(path, 61, 97, 45);
    });
}

TEST_CASE("gemm rejects a beta other than 0 or 1") {
    float c = 0.0f;
    const float a = 1.0f;
    CHECK_THROWS_WITH_AS(rpb::gemm({.m = 1, .n = 1, .k = 1}, &a, 1, &a, 1, 0.5f, &c, 1),
                         "gemm: beta is 0.5, expected 0 or 1", rpb::Error);
}

namespace {

// gemm_bias and gemm_packed against plain gemm: the same bits as beta 1 on a C that holds the
// bias in every row (or as plain gemm for packed products without a bias).
void check_bias_and_packed(const rpb::GemmShape& s) {
    CAPTURE(s.trans_a);
    CAPTURE(s.trans_b);
    CAPTURE(s.m);
    CAPTURE(s.n);
    CAPTURE(s.k);
    const int64_t lda = (s.trans_a ? s.m : s.k) + 2;
    const int64_t ldb = (s.trans_b ? s.k : s.n) + 3;
    const int64_t ldc = s.n + 1;
    const std::vector<float> a = lcg_values((s.trans_a ? s.k : s.m) * lda + 1, 4);
    const std::vector<float> b = lcg_values((s.trans_b ? s.n : s.k) * ldb + 1, 5);
    const std::vector<float> bias = lcg_values(s.n + 1, 6);
    const std::vector<float> c0 = lcg_values(s.m * ldc + 1, 7);
    std::vector<float> want = c0;
    for (int64_t i = 0; i < s.m; ++i) {
        std::copy(bias.begin(), bias.begin() + s.n, want.begin() + i * ldc);
    }
    rpb::gemm(s, a.data(), lda, b.data(), ldb, 1.0f, want.data(), ldc);
    std::vector<float> c = c0;
    rpb::gemm_bias(s, a.data(), lda, b.data(), ldb, bias.data(), c.data(), ldc);
    REQUIRE(c == want);
    const rpb::PackedB packed(s, b.data(), ldb);
    c = c0;
    rpb::gemm_packed(s, a.data(), lda, packed, bias.data(), 0.0f, c.data(), ldc);
    REQUIRE(c == want);
    for (const float beta : {0.0f, 1.0f}) {
        std::vector<float> plain = c0;
        rpb::gemm(s, a.data(), lda, b.data(), ldb, beta, plain.data(), ldc);
        c = c0;
        rpb::gemm_packed(s, a.data(), lda, packed, nullptr, beta, c.data(), ldc);
        REQUIRE(c == plain);
    }
}

} // namespace

TEST_CASE("gemm_bias and gemm_packed give plain gemm's bits") {
    for_each_kernel_path([](rpb::KernelPath) {
        const int64_t shapes[][3] = {{1, 1, 1},    {0, 5, 3},      {4, 0, 2},     {3, 4, 0},
                                     {13, 17, 5},  {25, 33, 17},   {7, 193, 9},   {14, 513, 3},
                                     {5, 70, 385}, {256, 192, 64}, {256, 64, 128}};
        for (const auto& [m, n, k] : shapes) {
            for (const bool ta : {false, true}) {
                for (const bool tb : {false, true}) {
                    check_bias_and_packed({.trans_a = ta, .trans_b = tb, .m = m, .n = n, .k = k});
                }
            }
        }
    });
}

TEST_CASE("gemm_packed refuses a product that does not fit its packed B") {
    const std::vector<float> b(12, 1.0f);
    const rpb::PackedB packed({.n = 3, .k = 4}, b.data(), 3);
    std::vector<float> a(8, 1.0f);
    std::vector<float> c(6, 0.0f);
    CHECK_THROWS_WITH_AS(
        rpb::gemm_packed({.m = 2, .n = 3, .k = 3}, a.data(), 3, packed, nullptr, 0.0f, c.data(), 3),
        "gemm: packed B is (4, 3), the product needs (3, 3)", rpb::Error);
    CHECK_THROWS_WITH_AS(rpb::gemm_packed({.m = 2, .n = 3, .k = 4}, a.data(), 4, packed, b.data(),
                                          1.0f, c.data(), 3),
                         "gemm: a bias needs beta 0", rpb::Error);
}
