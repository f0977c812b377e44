// gemm: the kernel path's blocked product (src/kernels/gemm.cpp) with per-thread scratch for
// its packed panels; gemm_reference: the plain triple loop in double.
#include "rpb/gemm.hpp"

#include "kernel_dispatch.hpp"
#include "rpb/cpu.hpp"
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

void check_product(const GemmShape& s, float beta) {
    if (beta != 0.0f && beta != 1.0f) {
        throw Error(fmt::format("gemm: beta is {}, expected 0 or 1", beta));
    }
    if (s.m < 0 || s.n < 0 || s.k < 0) {
        throw Error(fmt::format("gemm: shape ({}, {}, {}) has a negative size", s.m, s.n, s.k));
    }
}

// The products without any work for the kernels (an empty C, or k = 0: C = bias or beta C).
bool trivial_product(const GemmShape& s, const float* bias, float beta, float* c, int64_t ldc) {
    if (s.m == 0 || s.n == 0) {
        return true;
    }
    if (s.k != 0) {
        return false;
    }
    for (int64_t i = 0; i < s.m; ++i) {
        if (bias != nullptr) {
            std::copy(bias, bias + s.n, c + i * ldc);
        } else if (beta == 0.0f) {
            std::fill(c + i * ldc, c + i * ldc + s.n, 0.0f);
        }
    }
    return true;
}

void run_gemm(const GemmShape& s, const float* a, int64_t lda, const float* b, int64_t ldb,
              const float* packed_b, const float* bias, float beta, float* c, int64_t ldc) {
    if (trivial_product(s, bias, beta, c, ldc)) {
        return;
    }
    const detail::KernelTable& kernels = detail::kernel_table();
    const kernels::GemmArgs args{s.trans_a, s.trans_b, s.m,          s.n, s.k, a,    lda,
                                 b,         ldb,       beta != 0.0f, c,   ldc, bias, packed_b};
    kernels.gemm(args, scratch_for(kernels.gemm_scratch_floats(s.n, s.k)));
}

} // namespace

void gemm(const GemmShape& s, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
          float* c, int64_t ldc) {
    check_product(s, beta);
    run_gemm(s, a, lda, b, ldb, nullptr, nullptr, beta, c, ldc);
}

void gemm_bias(const GemmShape& s, const float* a, int64_t lda, const float* b, int64_t ldb,
               const float* bias, float* c, int64_t ldc) {
    check_product(s, 0.0f);
    run_gemm(s, a, lda, b, ldb, nullptr, bias, 0.0f, c, ldc);
}

PackedB::PackedB(const GemmShape& s, const float* b, int64_t ldb) : n_(s.n), k_(s.k) {
    if (s.n < 0 || s.k < 0) {
        throw Error(fmt::format("gemm: packed B of ({}, {}) has a negative size", s.k, s.n));
    }
    path_ = static_cast<int>(kernel_path());
    if (s.n == 0 || s.k == 0) {
        return;
    }
    const detail::KernelTable& kernels = detail::kernel_table();
    constexpr int64_t kAlignFloats = 16;
    const int64_t floats = kernels.gemm_packed_b_floats(s.n, s.k);
    storage_ = std::make_unique<float[]>(static_cast<size_t>(floats + kAlignFloats));
    void* p = storage_.get();
    size_t space = static_cast<size_t>(floats + kAlignFloats) * sizeof(float);
    panels_ =
        static_cast<float*>(std::align(64, static_cast<size_t>(floats) * sizeof(float), p, space));
    const kernels::GemmArgs args{false, s.trans_b, 0,     s.n,     s.k, nullptr, 0,
                                 b,     ldb,       false, nullptr, 0,   nullptr, nullptr};
    kernels.gemm_pack_b(args, panels_);
}

PackedB::PackedB(PackedB&&) noexcept = default;
PackedB& PackedB::operator=(PackedB&&) noexcept = default;
PackedB::~PackedB() = default;

void gemm_packed(const GemmShape& s, const float* a, int64_t lda, const PackedB& b,
                 const float* bias, float beta, float* c, int64_t ldc) {
    check_product(s, beta);
    if (s.n != b.n_ || s.k != b.k_) {
        throw Error(fmt::format("gemm: packed B is ({}, {}), the product needs ({}, {})", b.k_,
                                b.n_, s.k, s.n));
    }
    if (bias != nullptr && beta != 0.0f) {
        throw Error("gemm: a bias needs beta 0");
    }
    if (static_cast<int>(kernel_path()) != b.path_) {
        throw Error("gemm: B was packed for another kernel path");
    }
    // op(B)'s layout is in the panels: trans_b and ldb no longer matter.
    run_gemm(s, a, lda, nullptr, 0, b.panels_, bias, beta, c, ldc);
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
