// The fused attention's tile kernels (contracts in src/core/attention_tile.hpp), for the
// path this copy is compiled for: AVX-512 (16-wide, masked tails), AVX2 + FMA (8-wide, masked
// loads and stores), or plain scalar code. Includes only what kernel_types.hpp allows.
#include "kernels.hpp"
#include "vector_math.hpp"

#include <cstddef>
#include <cstdint>
#include <immintrin.h>

namespace rpb::kernels::RPB_KERNEL_NS {
namespace {

constexpr float kNegInf = -__builtin_inff();

int64_t min64(int64_t a, int64_t b) {
    return a < b ? a : b;
}

#if defined(__AVX512F__) || defined(__AVX2__)
int64_t clamp64(int64_t v, int64_t lo, int64_t hi) {
    return v < lo ? lo : v > hi ? hi : v;
}
#endif

#if defined(__AVX512F__)

constexpr int kWidth = 16; // floats per vector
constexpr int kMaxRows = 6;
constexpr int kMaxVectors = 4;

// C[RB][16 * NV] = init + A[RB][k] @ B[k][16 * NV]: RB * NV accumulators stay in registers;
// per k step NV loads of B and RB broadcasts of A feed RB * NV FMAs (6 x 4: 24
// accumulators). The last 16-wide group is masked by `tail` (all lanes when cols allow).
template <int RB, int NV>
void micro_kernel(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                  int64_t ldc, const float* row_scale, const float* col_bias, Mask tail) {
    __m512 acc[RB][NV];
#pragma GCC unroll 8
    for (int r = 0; r < RB; ++r) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
            const Mask mask = v == NV - 1 ? tail : Mask{0xffff};
            if (row_scale != nullptr) {
                acc[r][v] = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, c + r * ldc + 16 * v),
                                          _mm512_set1_ps(row_scale[r]));
            } else if (col_bias != nullptr) {
                acc[r][v] = _mm512_maskz_loadu_ps(mask, col_bias + 16 * v);
            } else {
                acc[r][v] = _mm512_setzero_ps();
            }
        }
    }
    for (int64_t p = 0; p < k; ++p) {
        __m512 bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
            bv[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(tail, b + p * ldb + 16 * v)
                                : _mm512_loadu_ps(b + p * ldb + 16 * v);
            // Keeps B in a register: otherwise GCC folds the load into every FMA and the
            // loop becomes load-bound (RB times as many loads).
            asm("" : "+v"(bv[v]));
        }
#pragma GCC unroll 8
        for (int r = 0; r < RB; ++r) {
            const __m512 av = _mm512_set1_ps(a[r * lda + p]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) {
                acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < RB; ++r) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
            if (v == NV - 1) {
                _mm512_mask_storeu_ps(c + r * ldc + 16 * v, tail, acc[r][v]);
            } else {
                _mm512_storeu_ps(c + r * ldc + 16 * v, acc[r][v]);
            }
        }
    }
}

#elif defined(__AVX2__)

constexpr int kWidth = 8;
constexpr int kMaxRows = 6;
constexpr int kMaxVectors = 2; // 6 x 2 accumulators + 2 of B + 1 of A: 15 of 16 registers

// As the AVX-512 micro-kernel with 8-wide vectors: the last group is masked by `tail`.
template <int RB, int NV>
void micro_kernel(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                  int64_t ldc, const float* row_scale, const float* col_bias, Mask tail) {
    const Mask all = _mm256_set1_epi32(-1);
    __m256 acc[RB][NV];
#pragma GCC unroll 8
    for (int r = 0; r < RB; ++r) {
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) {
            const Mask mask = v == NV - 1 ? tail : all;
            if (row_scale != nullptr) {
                acc[r][v] = _mm256_mul_ps(_mm256_maskload_ps(c + r * ldc + 8 * v, mask),
                                          _mm256_set1_ps(row_scale[r]));
            } else if (col_bias != nullptr) {
                acc[r][v] = _mm256_maskload_ps(col_bias + 8 * v, mask);
            } else {
                acc[r][v] = _mm256_setzero_ps();
            }
        }
    }
    for (int64_t p = 0; p < k; ++p) {
        __m256 bv[NV];
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) {
            bv[v] = v == NV - 1 ? _mm256_maskload_ps(b + p * ldb + 8 * v, tail)
                                : _mm256_loadu_ps(b + p * ldb + 8 * v);
            asm("" : "+x"(bv[v]));
        }
#pragma GCC unroll 8
        for (int r = 0; r < RB; ++r) {
            const __m256 av = _mm256_broadcast_ss(a + r * lda + p);
#pragma GCC unroll 2
            for (int v = 0; v < NV; ++v) {
                acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < RB; ++r) {
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) {
            if (v == NV - 1) {
                _mm256_maskstore_ps(c + r * ldc + 8 * v, tail, acc[r][v]);
            } else {
                _mm256_storeu_ps(c + r * ldc + 8 * v, acc[r][v]);
            }
        }
    }
}

#endif

#if defined(__AVX512F__) || defined(__AVX2__)

using MicroKernel = void (*)(int64_t, const float*, int64_t, const float*, int64_t, float*, int64_t,
                             const float*, const float*, Mask);

// Every (rows, vectors) shape of micro_kernel, indexed [rb - 1][nv - 1].
template <int RB>
struct RowKernels {
    MicroKernel by_vectors[kMaxVectors];
};

#if defined(__AVX512F__)
template <int RB>
constexpr RowKernels<RB> row_kernels = {
    {micro_kernel<RB, 1>, micro_kernel<RB, 2>, micro_kernel<RB, 3>, micro_kernel<RB, 4>}};
#else
template <int RB>
constexpr RowKernels<RB> row_kernels = {{micro_kernel<RB, 1>, micro_kernel<RB, 2>}};
#endif

constexpr MicroKernel const* micro_kernels[kMaxRows] = {
    row_kernels<1>.by_vectors, row_kernels<2>.by_vectors, row_kernels<3>.by_vectors,
    row_kernels<4>.by_vectors, row_kernels<5>.by_vectors, row_kernels<6>.by_vectors};

#else

// Row by row, p outer and j inner: each element is still one chain over p from its init
// value, and the j loop vectorises (SSE2), which the dot-product order (p inner) cannot.
void micro_generic(int64_t rb, int64_t cols, int64_t k, const float* a, int64_t lda, const float* b,
                   int64_t ldb, float* c, int64_t ldc, const float* row_scale,
                   const float* col_bias) {
    for (int64_t r = 0; r < rb; ++r) {
        float* __restrict crow = c + r * ldc;
        for (int64_t j = 0; j < cols; ++j) {
            crow[j] = row_scale != nullptr  ? crow[j] * row_scale[r]
                      : col_bias != nullptr ? col_bias[j]
                                            : 0.0f;
        }
        for (int64_t p = 0; p < k; ++p) {
            const float av = a[r * lda + p];
            const float* __restrict brow = b + p * ldb;
            for (int64_t j = 0; j < cols; ++j) {
                crow[j] += av * brow[j];
            }
        }
    }
}

#endif

} // namespace

void tile_gemm(int64_t rows, int64_t cols, int64_t k, const float* a, int64_t lda, const float* b,
               int64_t ldb, float* c, int64_t ldc, const float* row_scale, const float* col_bias) {
    for (int64_t r0 = 0; r0 < rows;) {
        // Blocks of 6 rows, then one block of the 1-5 rows left.
        const int64_t rb = min64(6, rows - r0);
        const float* scale = row_scale == nullptr ? nullptr : row_scale + r0;
#if defined(__AVX512F__) || defined(__AVX2__)
        constexpr int64_t block = kWidth * kMaxVectors;
        for (int64_t c0 = 0; c0 < cols; c0 += block) {
            const int64_t width = min64(block, cols - c0);
            const int64_t nv = (width + kWidth - 1) / kWidth;
            micro_kernels[rb - 1][nv - 1](k, a + r0 * lda, lda, b + c0, ldb, c + r0 * ldc + c0, ldc,
                                          scale, col_bias == nullptr ? nullptr : col_bias + c0,
                                          lanes(width - kWidth * (nv - 1)));
        }
#else
        micro_generic(rb, cols, k, a + r0 * lda, lda, b, ldb, c + r0 * ldc, ldc, scale, col_bias);
#endif
        r0 += rb;
    }
}

float add_bias_and_mask(float* row, int64_t valid, const TileBias& bias) {
#if defined(__AVX512F__)
    const __m512 neg_inf = _mm512_set1_ps(kNegInf);
    __m512 mx = neg_inf;
    for (int v = 0; v < kTileKeys / 16; ++v) {
        const Mask mask = lanes(clamp64(valid - 16 * v, 0, 16));
        __m512 b;
        if (bias.direct != nullptr) {
            b = _mm512_maskz_loadu_ps(mask, bias.direct + 16 * v);
        } else {
            const __m512i idx = _mm512_maskz_loadu_epi32(mask, bias.index + 16 * v);
            b = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, idx, bias.table, 4);
        }
        const __m512 s = _mm512_mask_add_ps(neg_inf, mask, _mm512_loadu_ps(row + 16 * v), b);
        _mm512_storeu_ps(row + 16 * v, s);
        mx = _mm512_max_ps(mx, s);
    }
    return reduce_max(mx);
#elif defined(__AVX2__)
    const __m256 neg_inf = _mm256_set1_ps(kNegInf);
    __m256 mx = neg_inf;
    for (int v = 0; v < kTileKeys / 8; ++v) {
        const Mask mask = lanes(clamp64(valid - 8 * v, 0, 8));
        __m256 b;
        if (bias.direct != nullptr) {
            b = _mm256_maskload_ps(bias.direct + 8 * v, mask);
        } else {
            const __m256i idx = _mm256_maskload_epi32(bias.index + 8 * v, mask);
            b = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), bias.table, idx,
                                         _mm256_castsi256_ps(mask), 4);
        }
        const __m256 s = _mm256_blendv_ps(neg_inf, _mm256_add_ps(_mm256_loadu_ps(row + 8 * v), b),
                                          _mm256_castsi256_ps(mask));
        _mm256_storeu_ps(row + 8 * v, s);
        mx = _mm256_max_ps(mx, s);
    }
    return reduce_max(mx);
#else
    float mx = kNegInf;
    for (int64_t j = 0; j < valid; ++j) {
        row[j] += bias.direct != nullptr ? bias.direct[j] : bias.table[bias.index[j]];
        mx = row[j] > mx ? row[j] : mx;
    }
    for (int64_t j = valid; j < kTileKeys; ++j) {
        row[j] = kNegInf;
    }
    return mx;
#endif
}

float exp_row(float* row, int64_t valid, float row_max, float factor) {
#if defined(__AVX512F__)
    const __m512 m = _mm512_set1_ps(row_max);
    const __m512 f = _mm512_set1_ps(factor);
    __m512 sum = _mm512_setzero_ps();
    for (int v = 0; v < kTileKeys / 16; ++v) {
        const Mask mask = lanes(clamp64(valid - 16 * v, 0, 16));
        const __m512 p =
            _mm512_maskz_mov_ps(mask, exp_vec(_mm512_sub_ps(_mm512_loadu_ps(row + 16 * v), m)));
        sum = _mm512_add_ps(sum, p);
        _mm512_storeu_ps(row + 16 * v, _mm512_mul_ps(p, f));
    }
    return reduce_add(sum);
#elif defined(__AVX2__)
    const __m256 m = _mm256_set1_ps(row_max);
    const __m256 f = _mm256_set1_ps(factor);
    __m256 sum = _mm256_setzero_ps();
    for (int v = 0; v < kTileKeys / 8; ++v) {
        const __m256 mask = _mm256_castsi256_ps(lanes(clamp64(valid - 8 * v, 0, 8)));
        const __m256 p =
            _mm256_and_ps(mask, exp_vec(_mm256_sub_ps(_mm256_loadu_ps(row + 8 * v), m)));
        sum = _mm256_add_ps(sum, p);
        _mm256_storeu_ps(row + 8 * v, _mm256_mul_ps(p, f));
    }
    return reduce_add(sum);
#else
    float sum = 0.0f;
    for (int64_t j = 0; j < valid; ++j) {
        const float p = __builtin_expf(row[j] - row_max);
        sum += p;
        row[j] = p * factor;
    }
    for (int64_t j = valid; j < kTileKeys; ++j) {
        row[j] = 0.0f;
    }
    return sum;
#endif
}

void exp_inplace(float* v, int64_t n) {
#if defined(__AVX512F__)
    for (int64_t i = 0; i < n; i += 16) {
        const Mask mask = lanes(min64(n - i, 16));
        _mm512_mask_storeu_ps(v + i, mask, exp_vec(_mm512_maskz_loadu_ps(mask, v + i)));
    }
#elif defined(__AVX2__)
    for (int64_t i = 0; i < n; i += 8) {
        const Mask mask = lanes(min64(n - i, 8));
        _mm256_maskstore_ps(v + i, mask, exp_vec(_mm256_maskload_ps(v + i, mask)));
    }
#else
    for (int64_t i = 0; i < n; ++i) {
        v[i] = __builtin_expf(v[i]);
    }
#endif
}

} // namespace rpb::kernels::RPB_KERNEL_NS
