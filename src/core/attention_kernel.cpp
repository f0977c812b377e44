// The fused attention kernel: flash-attention style tiling. A work item is one (batch, head,
// 64-query block); it walks the 64-key blocks in order keeping a running row maximum and
// row sum (online softmax), so logits and bias exist only as one 64 x 64 tile per thread.
// Both products (Q K^T and P V) are register-blocked 4-row micro-kernels over packed,
// zero-padded operands (attention_tile.cpp).
#include "attention_internal.hpp"
#include "attention_tile.hpp"
#include "rpb/worker_thread.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <system_error>
#include <vector>

namespace rpb::detail {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

using Workspace = KernelWorkspace;

// What one work item reads, resolved once per item.
struct ItemView {
    const float* q = nullptr;
    const float* kt = nullptr;
    const float* v = nullptr;
    int64_t b = 0;
    int64_t h = 0;
    int64_t q0 = 0;
    int64_t nq = 0;
};

TileBias tile_bias(const BiasSource& bias, const AttentionDims& dims, int64_t h, int64_t i,
                   int64_t k0) {
    TileBias tb{};
    if (bias.toeplitz) {
        tb.direct = bias.diag.data() + h * bias.diag_len + (k0 - i + dims.tokens - 1);
    } else {
        tb.table = bias.table_t.data() + h * bias.entries;
        tb.index = bias.index->row(i) + k0;
    }
    return tb;
}

// Keys of row i visible in the block starting at k0: inside the sequence and, when causal,
// not after the query.
int64_t valid_keys(int64_t i, int64_t k0, int64_t tokens, bool causal) {
    int64_t limit = std::min(kBlockKeys, tokens - k0);
    if (causal) {
        limit = std::min(limit, i - k0 + 1);
    }
    return std::max<int64_t>(limit, 0);
}

// Logits of key block kb for the item's queries into ws.s: q k^T (the scale is folded into
// q) plus bias, masked; row r's maximum goes to block_max[r]. Both passes of run_item use it.
void score_block(const ItemView& it, const BiasSource& bias, const AttentionDims& dims, bool causal,
                 int64_t dpad, int64_t kb, Workspace& ws, float* block_max) {
    const int64_t k0 = kb * kBlockKeys;
    tile_gemm(it.nq, kBlockKeys, dpad, it.q, dpad, it.kt + kb * dpad * kBlockKeys, kBlockKeys,
              ws.s.data(), kBlockKeys, nullptr);
    for (int64_t r = 0; r < it.nq; ++r) {
        const int64_t i = it.q0 + r;
        float* row = ws.s.data() + r * kBlockKeys;
        block_max[r] = add_bias_and_mask(row, valid_keys(i, k0, dims.tokens, causal),
                                         tile_bias(bias, dims, it.h, i, k0));
    }
}

// `probs` holds the probability rows from row `probs_row0` of the (B * H * N, N) whole on.
void run_item(const ItemView& it, const BiasSource& bias, const AttentionDims& dims, bool causal,
              int64_t dpad, Workspace& ws, float* merged, float* probs, int64_t probs_row0) {
    const int64_t n = dims.tokens;
    const int64_t last_key = causal ? it.q0 + it.nq : n;
    const int64_t nblocks = (last_key + kBlockKeys - 1) / kBlockKeys;
    std::fill(ws.o.begin(), ws.o.end(), 0.0f);
    std::fill(ws.m.begin(), ws.m.end(), kNegInf);
    std::fill(ws.l.begin(), ws.l.end(), 0.0f);
    std::fill(ws.alpha.begin(), ws.alpha.end(), 0.0f);

    for (int64_t kb = 0; kb < nblocks; ++kb) {
        const int64_t k0 = kb * kBlockKeys;
        score_block(it, bias, dims, causal, dpad, kb, ws, ws.sum.data());
        for (int64_t r = 0; r < it.nq; ++r) {
            const int64_t valid = valid_keys(it.q0 + r, k0, n, causal);
            float* row = ws.s.data() + r * kBlockKeys;
            const float m_new = std::max(ws.m[r], ws.sum[r]); // ws.sum holds the block maxima
            // A row's first block holds key 0, always visible: m_new is finite from there on,
            // and the first block's rescale exp(-inf) is 0.
            ws.alpha[r] = ws.m[r] == kNegInf ? kNegInf : ws.m[r] - m_new;
            ws.sum[r] = exp_row(row, valid, m_new, 1.0f);
            ws.m[r] = m_new;
        }
        exp_inplace(ws.alpha.data(), it.nq);
        for (int64_t r = 0; r < it.nq; ++r) {
            ws.l[r] = ws.l[r] * ws.alpha[r] + ws.sum[r];
        }
        // Keys past the last one have probability 0 and zero rows in v: left out (49 of 64
        // for Swin 7x7), they would only add zeros.
        tile_gemm(it.nq, dpad, std::min(kBlockKeys, last_key - k0), ws.s.data(), kBlockKeys,
                  it.v + k0 * dpad, dpad, ws.o.data(), dpad, ws.alpha.data());
    }

    const int64_t e = dims.embed;
    const int64_t hd = dims.head_dim;
    for (int64_t r = 0; merged != nullptr && r < it.nq; ++r) {
        const float inv = 1.0f / ws.l[r];
        float* dst = merged + (it.b * n + it.q0 + r) * e + it.h * hd;
        const float* src = ws.o.data() + r * dpad;
        for (int64_t c = 0; c < hd; ++c) {
            dst[c] = src[c] * inv;
        }
    }

    if (probs == nullptr) {
        return;
    }
    // Second pass with the final row maximum and sum: probabilities written directly.
    float* prob_rows = probs + ((it.b * dims.heads + it.h) * n + it.q0 - probs_row0) * n;
    for (int64_t kb = 0; kb < nblocks; ++kb) {
        const int64_t k0 = kb * kBlockKeys;
        score_block(it, bias, dims, causal, dpad, kb, ws, ws.sum.data());
        for (int64_t r = 0; r < it.nq; ++r) {
            const int64_t valid = valid_keys(it.q0 + r, k0, n, causal);
            float* row = ws.s.data() + r * kBlockKeys;
            exp_row(row, valid, ws.m[r], 1.0f / ws.l[r]);
            std::copy(row, row + valid, prob_rows + r * n + k0);
        }
    }
}

} // namespace

BiasSource make_bias_source(const FloatTensor& table, const EntryIndex& index, int64_t heads) {
    BiasSource bias;
    bias.toeplitz = index.is_toeplitz();
    bias.entries = table.dim(0);
    bias.index = &index;
    if (bias.toeplitz) {
        const std::vector<int32_t>& diagonals = index.diagonals();
        bias.diag_len = static_cast<int64_t>(diagonals.size());
        bias.diag.resize(static_cast<size_t>(heads * bias.diag_len));
        for (int64_t h = 0; h < heads; ++h) {
            for (int64_t d = 0; d < bias.diag_len; ++d) {
                bias.diag[h * bias.diag_len + d] = table.at(diagonals[d], h);
            }
        }
    } else {
        bias.table_t.resize(static_cast<size_t>(heads * bias.entries));
        for (int64_t h = 0; h < heads; ++h) {
            for (int64_t e = 0; e < bias.entries; ++e) {
                bias.table_t[h * bias.entries + e] = table.at(e, h);
            }
        }
    }
    return bias;
}

int64_t worker_count(int threads, int64_t items) {
    int64_t wanted = threads;
    if (wanted <= 0) {
        wanted = hardware_threads();
    }
    return std::max<int64_t>(1, std::min<int64_t>(wanted, items));
}

void parallel_for(int64_t items, int64_t workers,
                  const std::function<void(int64_t item, int64_t worker)>& fn) {
    std::atomic<int64_t> next{0};
    auto work = [&](int64_t worker) {
        for (int64_t id = next.fetch_add(1); id < items; id = next.fetch_add(1)) {
            fn(id, worker);
        }
    };
    std::vector<WorkerThread> pool;
    pool.reserve(static_cast<size_t>(std::max<int64_t>(0, workers - 1)));
    for (int64_t w = 1; w < workers; ++w) {
        try {
            pool.emplace_back([&work, w] { work(w); });
        } catch (const std::system_error&) {
            break; // fewer threads: the shared counter still hands out every item
        }
    }
    work(0);
    for (WorkerThread& t : pool) {
        t.join();
    }
}

void run_attention_kernel(PackedHeads& packed, const BiasSource& bias, const AttentionDims& dims,
                          bool causal, int threads, float* merged, float* probs,
                          std::vector<KernelWorkspace>& spaces, const KernelSlice* slice) {
    const int64_t dpad = packed.dpad;
    const int64_t qblocks = (dims.tokens + kBlockQueries - 1) / kBlockQueries;
    const int64_t items = slice != nullptr ? slice->blocks : dims.batch * dims.heads * qblocks;
    const int64_t probs_row0 =
        slice != nullptr ? slice->bh * dims.tokens + slice->first_block * kBlockQueries : 0;
    const int64_t workers = worker_count(threads, items);

    // Buffers are sized here so that nothing inside a worker can throw. Their contents need
    // no reset: run_item initialises what it reads.
    if (spaces.size() < static_cast<size_t>(workers)) {
        spaces.resize(static_cast<size_t>(workers));
    }
    for (Workspace& ws : spaces) {
        ws.s.resize(static_cast<size_t>(kBlockQueries * kBlockKeys));
        ws.o.resize(static_cast<size_t>(kBlockQueries * dpad));
        ws.m.resize(kBlockQueries);
        ws.l.resize(kBlockQueries);
        ws.alpha.resize(kBlockQueries);
        ws.sum.resize(kBlockQueries);
    }
    parallel_for(items, workers, [&](int64_t id, int64_t worker) {
        // Last query blocks first: under a causal mask they are the longest.
        const int64_t bh = slice != nullptr ? slice->bh : id / qblocks;
        const int64_t qb = slice != nullptr ? slice->first_block + slice->blocks - 1 - id
                                            : qblocks - 1 - id % qblocks;
        ItemView it;
        it.b = bh / dims.heads;
        it.h = bh % dims.heads;
        it.q0 = qb * kBlockQueries;
        it.nq = std::min(kBlockQueries, dims.tokens - it.q0);
        it.q = packed.q_slab(bh) + it.q0 * dpad;
        it.kt = packed.kt_slab(bh);
        it.v = packed.v_slab(bh);
        run_item(it, bias, dims, causal, dpad, spaces[static_cast<size_t>(worker)], merged, probs,
                 probs_row0);
    });
}

} // namespace rpb::detail
