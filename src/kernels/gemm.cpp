// rpb::gemm's kernels (contract in include/rpb/gemm.hpp), BLIS-style: op(B) is packed in
// blocks of KC rows x NC columns (kept in L2) as NR-wide column panels, op(A) in MR-row
// panels of KC (kept in L1), and an MR x NR register-blocked micro-kernel streams the B
// panels past each A panel. The micro-kernel starts from C (or zero) and adds the products
// in order of p, and the k blocks follow each other through C, so every C element is one
// chain over p = 0..k-1 whatever the blocking: on the vector paths a chain of FMAs
// (avx2 and avx512 agree bit for bit), on the scalar path of multiplies and adds.
// Packed panels are zero-padded to MR and NR; edge tiles compute whole and store masked.
// Includes only what kernel_types.hpp allows.
#include "kernels.hpp"

#include <cstddef>
#include <cstdint>
#include <immintrin.h>

#if defined(__AVX512F__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized" // GCC bug 105593, see attention_tile.cpp
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace rpb::kernels::RPB_KERNEL_NS {
namespace {

#if defined(__AVX512F__)
// 12 x 32: 24 accumulators, 2 B vectors and a broadcast of A per step (of 32 registers).
constexpr int64_t MR = 12;
constexpr int64_t NR = 32;
constexpr int64_t KC = 384;
constexpr int64_t NC = 512; // B block 384 x 512 floats: 768 KB, within a 1 MB L2
#elif defined(__AVX2__)
// 6 x 16: 12 accumulators, 2 B vectors and a broadcast (of 16 registers).
constexpr int64_t MR = 6;
constexpr int64_t NR = 16;
constexpr int64_t KC = 256;
constexpr int64_t NC = 512; // B block 512 KB (L2 of Zen 2-3); smaller NC repacked A too often
#else
constexpr int64_t MR = 4;
constexpr int64_t NR = 8;
constexpr int64_t KC = 256;
constexpr int64_t NC = 256;
#endif

int64_t min64(int64_t a, int64_t b) {
    return a < b ? a : b;
}

int64_t round_up(int64_t v, int64_t multiple) {
    return (v + multiple - 1) / multiple * multiple;
}

// op(B)[p0 + p][j0 + j] for p < kc, j < nc into NR-wide panels, each kc x NR row-major,
// zero beyond nc.
void pack_b(const GemmArgs& g, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* dst) {
    for (int64_t jr = 0; jr < nc; jr += NR) {
        const int64_t w = min64(NR, nc - jr);
        float* panel = dst + jr * kc;
        if (!g.trans_b) {
            for (int64_t p = 0; p < kc; ++p) {
                const float* src = g.b + (p0 + p) * g.ldb + j0 + jr;
                float* out = panel + p * NR;
                for (int64_t j = 0; j < w; ++j) {
                    out[j] = src[j];
                }
                for (int64_t j = w; j < NR; ++j) {
                    out[j] = 0.0f;
                }
            }
        } else {
            for (int64_t j = 0; j < w; ++j) {
                const float* src = g.b + (j0 + jr + j) * g.ldb + p0;
                for (int64_t p = 0; p < kc; ++p) {
                    panel[p * NR + j] = src[p];
                }
            }
            for (int64_t p = 0; p < kc && w < NR; ++p) {
                for (int64_t j = w; j < NR; ++j) {
                    panel[p * NR + j] = 0.0f;
                }
            }
        }
    }
}

// op(A)[i0 + r][p0 + p] for r < mr, p < kc as one kc x MR row-major panel, zero beyond mr.
void pack_a(const GemmArgs& g, int64_t i0, int64_t mr, int64_t p0, int64_t kc, float* dst) {
    if (g.trans_a) {
        for (int64_t p = 0; p < kc; ++p) {
            const float* src = g.a + (p0 + p) * g.lda + i0;
            float* out = dst + p * MR;
            for (int64_t r = 0; r < mr; ++r) {
                out[r] = src[r];
            }
            for (int64_t r = mr; r < MR; ++r) {
                out[r] = 0.0f;
            }
        }
    } else {
        for (int64_t r = 0; r < mr; ++r) {
            const float* src = g.a + (i0 + r) * g.lda + p0;
            for (int64_t p = 0; p < kc; ++p) {
                dst[p * MR + r] = src[p];
            }
        }
        for (int64_t p = 0; p < kc && mr < MR; ++p) {
            for (int64_t r = mr; r < MR; ++r) {
                dst[p * MR + r] = 0.0f;
            }
        }
    }
}

// Where the micro-kernel finds A(r, p): rows[r][p * step]. Packed: rows[r] = panel + r,
// step MR. Direct (A not transposed, read in place): rows[r] = row r of A (rows past mr
// repeat the last one, whose results are not stored), step 1.
struct APanel {
    const float* rows[MR];
    int64_t step;
};

APanel packed_panel(const float* panel) {
    APanel ap{};
    for (int64_t r = 0; r < MR; ++r) {
        ap.rows[r] = panel + r;
    }
    ap.step = MR;
    return ap;
}

APanel direct_panel(const GemmArgs& g, int64_t i0, int64_t mr, int64_t p0) {
    APanel ap{};
    for (int64_t r = 0; r < MR; ++r) {
        ap.rows[r] = g.a + (i0 + min64(r, mr - 1)) * g.lda + p0;
    }
    ap.step = 1;
    return ap;
}

#if defined(__AVX512F__)

// C[mr][nr] = (load ? C : 0) + A (MR x kc, see APanel) @ Bp (kc x NR), for mr <= MR, nr <= 16 * NV:
// NV is 2, or 1 for a last panel of at most 16 columns (half the work; n = 16 for attention heads
// of 16 dimensions).
template <int NV, bool Packed>
void micro_kernel_n(int64_t kc, const APanel& ap, const float* bp, float* c, int64_t ldc,
                    int64_t mr, int64_t nr, bool load, const float* init) {
    __mmask16 mask[2];
    mask[0] = static_cast<__mmask16>(nr >= 16 ? 0xffff : (1u << nr) - 1u);
    mask[1] = static_cast<__mmask16>(nr >= 32 ? 0xffff : nr <= 16 ? 0 : (1u << (nr - 16)) - 1u);
    __m512 start[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
        start[v] =
            init != nullptr ? _mm512_maskz_loadu_ps(mask[v], init + 16 * v) : _mm512_setzero_ps();
    }
    __m512 acc[MR][NV];
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
        _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) {
            acc[r][v] =
                load ? _mm512_maskz_loadu_ps(r < mr ? mask[v] : 0, c + r * ldc + 16 * v) : start[v];
        }
    }
    for (int64_t p = 0; p < kc; ++p) {
        __m512 bv[NV];
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) {
            bv[v] = _mm512_load_ps(bp + p * NR + 16 * v);
            // Keeps B in registers: otherwise GCC folds the loads into every FMA.
            asm("" : "+v"(bv[v]));
        }
        // The panel streams from L2: fetch the lines 8 steps ahead into L1.
        _mm_prefetch(reinterpret_cast<const char*>(bp + (p + 8) * NR), _MM_HINT_T0);
        if (NV == 2) {
            _mm_prefetch(reinterpret_cast<const char*>(bp + (p + 8) * NR + 16), _MM_HINT_T0);
        }
#pragma GCC unroll 12
        for (int r = 0; r < MR; ++r) {
            // Packed: one pointer and constant offsets (12 row pointers would be reloaded).
            const __m512 av = _mm512_set1_ps(Packed ? ap.rows[0][p * MR + r] : ap.rows[r][p]);
#pragma GCC unroll 2
            for (int v = 0; v < NV; ++v) {
                acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
            }
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
        if (r < mr) {
#pragma GCC unroll 2
            for (int v = 0; v < NV; ++v) {
                _mm512_mask_storeu_ps(c + r * ldc + 16 * v, mask[v], acc[r][v]);
            }
        }
    }
}

void micro_kernel(int64_t kc, const APanel& ap, const float* bp, float* c, int64_t ldc, int64_t mr,
                  int64_t nr, bool load, const float* init) {
    const bool packed = ap.step == MR;
    if (nr > 16) {
        (packed ? micro_kernel_n<2, true> : micro_kernel_n<2, false>)(kc, ap, bp, c, ldc, mr, nr,
                                                                      load, init);
    } else {
        (packed ? micro_kernel_n<1, true> : micro_kernel_n<1, false>)(kc, ap, bp, c, ldc, mr, nr,
                                                                      load, init);
    }
}

#elif defined(__AVX2__)

__m256i lanes(int64_t n) {
    const int count = n < 0 ? 0 : n > 8 ? 8 : static_cast<int>(n);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

template <bool Packed>
void micro_kernel_a(int64_t kc, const APanel& ap, const float* bp, float* c, int64_t ldc,
                    int64_t mr, int64_t nr, bool load, const float* init) {
    const bool full = nr == NR;
    const __m256i lo = lanes(nr);
    const __m256i hi = lanes(nr - 8);
    __m256 start0 = _mm256_setzero_ps();
    __m256 start1 = _mm256_setzero_ps();
    if (init != nullptr) {
        start0 = _mm256_maskload_ps(init, lo);
        start1 = _mm256_maskload_ps(init + 8, hi);
    }
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
        if (load && r < mr) {
            acc[r][0] = full ? _mm256_loadu_ps(c + r * ldc) : _mm256_maskload_ps(c + r * ldc, lo);
            acc[r][1] =
                full ? _mm256_loadu_ps(c + r * ldc + 8) : _mm256_maskload_ps(c + r * ldc + 8, hi);
        } else {
            acc[r][0] = start0;
            acc[r][1] = start1;
        }
    }
    for (int64_t p = 0; p < kc; ++p) {
        __m256 b0 = _mm256_load_ps(bp + p * NR);
        __m256 b1 = _mm256_load_ps(bp + p * NR + 8);
        asm("" : "+x"(b0), "+x"(b1));
        _mm_prefetch(reinterpret_cast<const char*>(bp + (p + 8) * NR), _MM_HINT_T0);
#pragma GCC unroll 6
        for (int r = 0; r < MR; ++r) {
            const __m256 av =
                _mm256_broadcast_ss(Packed ? ap.rows[0] + p * MR + r : ap.rows[r] + p);
            acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
        if (r < mr) {
            if (full) {
                _mm256_storeu_ps(c + r * ldc, acc[r][0]);
                _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
            } else {
                _mm256_maskstore_ps(c + r * ldc, lo, acc[r][0]);
                _mm256_maskstore_ps(c + r * ldc + 8, hi, acc[r][1]);
            }
        }
    }
}

void micro_kernel(int64_t kc, const APanel& ap, const float* bp, float* c, int64_t ldc, int64_t mr,
                  int64_t nr, bool load, const float* init) {
    (ap.step == MR ? micro_kernel_a<true> : micro_kernel_a<false>)(kc, ap, bp, c, ldc, mr, nr, load,
                                                                   init);
}

#else

// Plain loops over a small tile (the compiler may use SSE2 across j).
template <bool Packed>
void micro_kernel_a(int64_t kc, const APanel& ap, const float* bp, float* c, int64_t ldc,
                    int64_t mr, int64_t nr, bool load, const float* init) {
    float acc[MR][NR];
    for (int64_t r = 0; r < MR; ++r) {
        for (int64_t j = 0; j < NR; ++j) {
            const bool inside = r < mr && j < nr;
            acc[r][j] = load ? (inside ? c[r * ldc + j] : 0.0f)
                             : (init != nullptr && j < nr ? init[j] : 0.0f);
        }
    }
    for (int64_t p = 0; p < kc; ++p) {
        for (int64_t r = 0; r < MR; ++r) {
            const float av = Packed ? ap.rows[0][p * MR + r] : ap.rows[r][p];
            for (int64_t j = 0; j < NR; ++j) {
                acc[r][j] += av * bp[p * NR + j];
            }
        }
    }
    for (int64_t r = 0; r < mr; ++r) {
        for (int64_t j = 0; j < nr; ++j) {
            c[r * ldc + j] = acc[r][j];
        }
    }
}

void micro_kernel(int64_t kc, const APanel& ap, const float* bp, float* c, int64_t ldc, int64_t mr,
                  int64_t nr, bool load, const float* init) {
    (ap.step == MR ? micro_kernel_a<true> : micro_kernel_a<false>)(kc, ap, bp, c, ldc, mr, nr, load,
                                                                   init);
}

#endif

} // namespace

int64_t gemm_scratch_floats(int64_t n, int64_t k) {
    const int64_t kc = min64(KC, k);
    return kc * round_up(min64(NC, n), NR) + kc * MR;
}

int64_t gemm_packed_b_floats(int64_t n, int64_t k) {
    return k * round_up(n, NR);
}

// Block (j0, p0) of a whole packed op(B) starts at j0 * k + p0 * round_up(nc, NR): the blocks
// of one column range follow each other down k, and every column range but the last is NC
// wide (a multiple of NR), so all panels stay 64-byte aligned.
void gemm_pack_b(const GemmArgs& g, float* dst) {
    for (int64_t j0 = 0; j0 < g.n; j0 += NC) {
        const int64_t nc = min64(NC, g.n - j0);
        for (int64_t p0 = 0; p0 < g.k; p0 += KC) {
            pack_b(g, p0, min64(KC, g.k - p0), j0, nc, dst + j0 * g.k + p0 * round_up(nc, NR));
        }
    }
}

void gemm(const GemmArgs& g, float* scratch) {
    const int64_t kc_max = min64(KC, g.k);
    float* bpack = scratch;
    float* apack = scratch + kc_max * round_up(min64(NC, g.n), NR);
    for (int64_t j0 = 0; j0 < g.n; j0 += NC) {
        const int64_t nc = min64(NC, g.n - j0);
        for (int64_t p0 = 0; p0 < g.k; p0 += KC) {
            const int64_t kc = min64(KC, g.k - p0);
            const bool load = g.accumulate || p0 > 0;
            // The bias starts each chain, as a C holding it would (same bits).
            const float* bias = !load && g.bias != nullptr ? g.bias + j0 : nullptr;
            const float* panels = bpack;
            if (g.packed_b != nullptr) {
                panels = g.packed_b + j0 * g.k + p0 * round_up(nc, NR);
            } else {
                pack_b(g, p0, kc, j0, nc, bpack);
            }
            for (int64_t i0 = 0; i0 < g.m; i0 += MR) {
                const int64_t mr = min64(MR, g.m - i0);
                // A panel that meets a single B panel is read in place: packing it would cost
                // as much as the product (n = 16 or 50 for attention heads).
                APanel ap{};
                if (!g.trans_a && nc <= NR) {
                    ap = direct_panel(g, i0, mr, p0);
                } else {
                    pack_a(g, i0, mr, p0, kc, apack);
                    ap = packed_panel(apack);
                }
                for (int64_t jr = 0; jr < nc; jr += NR) {
                    micro_kernel(kc, ap, panels + jr * kc, g.c + i0 * g.ldc + j0 + jr, g.ldc, mr,
                                 min64(NR, nc - jr), load, bias != nullptr ? bias + jr : nullptr);
                }
            }
        }
    }
}

} // namespace rpb::kernels::RPB_KERNEL_NS
