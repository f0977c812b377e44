// Single-precision matrix products for rpbtool's own compute paths (the ViT's training and
// evaluation, the attention projections). `gemm` runs the kernel path's blocked kernel
// (rpb/cpu.hpp; src/kernels/gemm.cpp): AVX-512 (12 x 32 micro-kernel), AVX2 + FMA (6 x 16)
// or plain scalar code, never a BLAS library.
//
// Layout: row-major. A is (m, k) when not transposed and stored as (k, m) when transposed;
// B is (k, n), or (n, k) when transposed; C is (m, n). Leading dimensions count floats
// between consecutive rows as stored.
//
//   C = beta * C + op(A) @ op(B)          beta is 0 (C is overwritten, never read) or 1
//
// Determinism: one call is single-threaded, and each C element is computed by a fixed
// sequence of operations that depends only on (m, n, k, the transposes) and the kernel path,
// never on what other threads do. Callers that parallelise split the work into pieces that
// depend on the shapes only, so results are the same for any thread count. The sequence is
// the chain over p = 0..k-1 starting from beta * C: of FMAs on the avx2 and avx512 paths
// (which therefore agree bit for bit), of multiplies and adds on the scalar path. Against
// the exact product each element is within (k + 1) * 2^-24 * (sum_p |a_ip b_pj| + |beta c_ij|).
#pragma once

#include <cstdint>
#include <memory>

namespace rpb {

struct GemmShape {
    bool trans_a = false;
    bool trans_b = false;
    int64_t m = 0;
    int64_t n = 0;
    int64_t k = 0;
};

/// C = beta * C + op(A) @ op(B) (see above); beta must be 0 or 1. No threads of its own;
/// per-thread scratch for the packed panels, kept between calls (about 0.8 MB at most).
/// Throws rpb::Error when beta is neither 0 nor 1 or a size is negative; rpb::UsageError as
/// kernel_path() does.
/// Example: gemm({.trans_b = true, .m = 6400, .n = 192, .k = 64}, x, 64, w, 64, 0.0f, y, 192)
///          is y = x @ w^T, a Linear layer without its bias.
void gemm(const GemmShape& shape, const float* a, int64_t lda, const float* b, int64_t ldb,
          float beta, float* c, int64_t ldc);

/// C = bias + op(A) @ op(B), `bias` (n floats) added to every row: a Linear layer. Each
/// element's chain starts from bias[j] (the same bits as gemm with beta 1 on a C holding
/// the bias in every row, without writing and reading it).
void gemm_bias(const GemmShape& shape, const float* a, int64_t lda, const float* b, int64_t ldb,
               const float* bias, float* c, int64_t ldc);

/// op(B) packed once into the current kernel path's panels, for many products that share it
/// (a layer's weights, used by every row piece of a batch): saves repacking it per call.
/// Holds a copy; `b` may change or go away after construction.
class PackedB {
public:
    /// op(B) of `shape` (trans_b, n, k; m and trans_a unused) from `b` with leading dimension
    /// ldb. Throws rpb::Error for a negative size.
    PackedB(const GemmShape& shape, const float* b, int64_t ldb);
    PackedB(PackedB&&) noexcept;
    PackedB& operator=(PackedB&&) noexcept;
    ~PackedB();

    int64_t n() const { return n_; }
    int64_t k() const { return k_; }

private:
    friend void gemm_packed(const GemmShape&, const float*, int64_t, const PackedB&, const float*,
                            float, float*, int64_t);
    int64_t n_ = 0;
    int64_t k_ = 0;
    int path_ = 0;            // the kernel path whose panel layout `panels_` has
    float* panels_ = nullptr; // 64-byte aligned, inside storage_
    std::unique_ptr<float[]> storage_;
};

/// C = (bias ? bias : beta * C) + op(A) @ packed op(B): gemm or gemm_bias with B packed
/// beforehand, same bits. shape.n, shape.k and shape.trans_b must be those of `b`; bias,
/// when not null, needs beta 0. Throws rpb::Error otherwise, or when the kernel path changed
/// since `b` was packed.
void gemm_packed(const GemmShape& shape, const float* a, int64_t lda, const PackedB& b,
                 const float* bias, float beta, float* c, int64_t ldc);

/// The plain computation of the same product with double accumulation: the reference that
/// tests check `gemm` against.
void gemm_reference(const GemmShape& shape, const float* a, int64_t lda, const float* b,
                    int64_t ldb, float beta, float* c, int64_t ldc);

} // namespace rpb
