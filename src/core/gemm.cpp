// gemm: the kernel path's blocked product (src/kernels/gemm.cpp) with per-thread scratch for
// its packed panels; gemm_reference: the plain triple loop in double.
#include "rpb/gemm.hpp"

#include "kernel_dispatch.hpp"
#include "rpb/error.hpp"

#include <algorithm>
#include <cstddef>
#include <fmt/format.h>
#include <memory>

namespace rpb {
namespace {

// Grown to the largest need seen on the thread and kept: small products (attention heads,
// one per call) must not pay for an allocation each.
float* scratch_for(int64_t floats) {
    constexpr int64_t kAlignFloats = 16; // 64 bytes, for the kernels' aligned panel loads
    thread_local std::unique_ptr<float[]> buffer;
    thread_local int64_t capacity = 0;
    if (capacity < floats) {
        buffer = std::make_unique<float[]>(static_cast<size_t>(floats + kAlignFloats));
        capacity = floats;
    }
    void* p = buffer.get();
    size_t space = static_cast<size_t>(floats + kAlignFloats) * sizeof(float);
    return static_cast<float*>(
        std::align(64, static_cast<size_t>(floats) * sizeof(float), p, space));
}

} // namespace

void gemm(const GemmShape& s, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
          float* c, int64_t ldc) {
    if (beta != 0.0f && beta != 1.0f) {
        throw Error(fmt::format("gemm: beta is {}, expected 0 or 1", beta));
    }
    if (s.m < 0 || s.n < 0 || s.k < 0) {
        throw Error(fmt::format("gemm: shape ({}, {}, {}) has a negative size", s.m, s.n, s.k));
    }
    if (s.m == 0 || s.n == 0) {
        return;
    }
    if (s.k == 0) {
        if (beta == 0.0f) {
            for (int64_t i = 0; i < s.m; ++i) {
                std::fill(c + i * ldc, c + i * ldc + s.n, 0.0f);
            }
        }
        return;
    }
    const detail::KernelTable& kernels = detail::kernel_table();
    const kernels::GemmArgs args{s.trans_a, s.trans_b, s.m, s.n,          s.k, a,
                                 lda,       b,         ldb, beta != 0.0f, c,   ldc};
    kernels.gemm(args, scratch_for(kernels.gemm_scratch_floats(s.n, s.k)));
}

void gemm_reference(const GemmShape& s, const float* a, int64_t lda, const float* b, int64_t ldb,
                    float beta, float* c, int64_t ldc) {
    for (int64_t i = 0; i < s.m; ++i) {
        for (int64_t j = 0; j < s.n; ++j) {
            double sum = beta == 0.0f ? 0.0 : static_cast<double>(c[i * ldc + j]);
            for (int64_t p = 0; p < s.k; ++p) {
                const float av = s.trans_a ? a[p * lda + i] : a[i * lda + p];
                const float bv = s.trans_b ? b[j * ldb + p] : b[p * ldb + j];
                sum += static_cast<double>(av) * static_cast<double>(bv);
            }
            c[i * ldc + j] = static_cast<float>(sum);
        }
    }
}

} // namespace rpb
