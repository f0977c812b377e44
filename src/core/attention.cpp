// Fused attention: OpenBLAS sgemm for the two projections, the tiled kernel
// (attention_kernel.cpp) in between. The qkv projection runs in row chunks and is scattered
// straight into the kernel's packed per-head layout, so the (B, N, 3E) qkv tensor never
// exists whole; the packed operands are freed before the output is allocated.
//
// Threads: our own workers run everything, including the sgemm calls (one row chunk per
// call, OpenBLAS single-threaded). OpenBLAS's own pool spins in sched_yield for about 0.1 s
// after start-up and after each threaded call; on a 2-core machine that takes a third of the
// cores from a short attention run, so the idle pool is stopped (see BlasSingleThreadScope).
#include "rpb/attention.hpp"

#include "attention_internal.hpp"
#include "rpb/error.hpp"

#include <algorithm>
#include <cblas.h>
#include <fmt/format.h>
#include <mutex>

namespace rpb {
namespace {

// Rows of x per projection sgemm call. Fixed, so that the chunks and thus every sgemm call
// are the same whatever the thread count.
constexpr int64_t kProjectionRows = 256;

} // namespace
} // namespace rpb

// OpenBLAS's pthreads build exports blas_thread_shutdown_ (its fork handler): it stops the
// idle workers, and the next threaded call starts them again. Declared weak, so that it is
// null with other OpenBLAS builds (OpenMP, serial), in a static link as in a dynamic one.
extern "C" int blas_thread_shutdown_() __attribute__((weak));

namespace rpb {

namespace {

// The outermost live scope restores the thread count it found; inner ones change nothing.
// (Setting the count back up restarts OpenBLAS's pool, which then spins for a while: doing
// that between the parts of a streamed run cost a core.)
std::mutex blas_scope_mutex;
int blas_scope_depth = 0;
int blas_threads_before = 1;

} // namespace

BlasSingleThreadScope::BlasSingleThreadScope() {
    const std::lock_guard<std::mutex> lock(blas_scope_mutex);
    if (blas_scope_depth++ == 0) {
        blas_threads_before = openblas_get_num_threads();
        openblas_set_num_threads(1);
        if (blas_thread_shutdown_ != nullptr) {
            blas_thread_shutdown_();
        }
    }
}

BlasSingleThreadScope::~BlasSingleThreadScope() {
    const std::lock_guard<std::mutex> lock(blas_scope_mutex);
    if (--blas_scope_depth == 0) {
        openblas_set_num_threads(blas_threads_before);
    }
}

namespace {

int64_t chunk_count(int64_t rows) {
    return (rows + kProjectionRows - 1) / kProjectionRows;
}

int64_t round_up(int64_t value, int64_t multiple) {
    return (value + multiple - 1) / multiple * multiple;
}

// out (rows, cols) = in (rows, inner) @ weight (cols, inner)^T + bias, bias broadcast over rows.
void linear(const float* in, int64_t rows, int64_t inner, const float* weight, const float* bias,
            int64_t cols, float* out) {
    for (int64_t r = 0; r < rows; ++r) {
        std::copy(bias, bias + cols, out + r * cols);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(rows),
                static_cast<blasint>(cols), static_cast<blasint>(inner), 1.0f, in,
                static_cast<blasint>(inner), weight, static_cast<blasint>(inner), 1.0f, out,
                static_cast<blasint>(cols));
}

// Projects the dims.batch * dims.tokens rows of x into `packed` (resized and zeroed), using
// (and growing) one chunk buffer per worker from `buffers`.
void pack_qkv(const float* x, const AttentionWeights& weights, const detail::AttentionDims& dims,
              int threads, detail::PackedHeads& packed, std::vector<std::vector<float>>& buffers) {
    const int64_t n = dims.tokens;
    const int64_t e = dims.embed;
    const int64_t hd = dims.head_dim;
    const int64_t nbh = dims.batch * dims.heads;
    const int64_t kb = detail::kBlockKeys;

    // Zero-filled when the layout is new. Buffers reused with the same layout (a worker's
    // next group of windows) keep their zero padding: the data positions are all rewritten
    // below, so the refill is skipped (it was 19 MB of memset in a 256-window Swin run).
    const bool same_layout =
        packed.dpad == round_up(hd, 16) && packed.q_rows == round_up(n, 4) &&
        packed.k_rows == round_up(n, kb) &&
        packed.q.size() == static_cast<size_t>(nbh * packed.q_rows * packed.dpad);
    packed.dpad = round_up(hd, 16);
    packed.q_rows = round_up(n, 4);
    packed.k_rows = round_up(n, kb);
    const int64_t dpad = packed.dpad;
    if (!same_layout) {
        packed.q.assign(static_cast<size_t>(nbh * packed.q_rows * dpad), 0.0f);
        packed.kt.assign(static_cast<size_t>(nbh * packed.k_rows * dpad), 0.0f);
        packed.v.assign(static_cast<size_t>(nbh * packed.k_rows * dpad), 0.0f);
    }

    const int64_t total_rows = dims.batch * n;
    const int64_t chunks = chunk_count(total_rows);
    const int64_t workers = detail::worker_count(threads, chunks);
    // Each worker's (rows, 3E) projection chunk; kept by the caller so that the grouped
    // path, which calls this once per group, does not allocate and first-touch it each time.
    buffers.resize(std::max(buffers.size(), static_cast<size_t>(workers)));
    for (std::vector<float>& buf : buffers) {
        buf.resize(std::max(buf.size(),
                            static_cast<size_t>(std::min(kProjectionRows, total_rows) * 3 * e)));
    }
    detail::parallel_for(chunks, workers, [&](int64_t chunk, int64_t worker) {
        const int64_t row0 = chunk * kProjectionRows;
        const int64_t rows = std::min(kProjectionRows, total_rows - row0);
        std::vector<float>& buf = buffers[static_cast<size_t>(worker)];
        linear(x + row0 * e, rows, e, weights.qkv_weight.data(), weights.qkv_bias.data(), 3 * e,
               buf.data());
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t b = (row0 + r) / n;
            const int64_t i = (row0 + r) % n;
            const float* src = buf.data() + r * 3 * e;
            for (int64_t h = 0; h < dims.heads; ++h) {
                const int64_t bh = b * dims.heads + h;
                float* q = packed.q_slab(bh) + i * dpad;
                float* kt = packed.kt_slab(bh) + (i / kb) * dpad * kb + i % kb;
                float* v = packed.v_slab(bh) + i * dpad;
                const float* qs = src + h * hd;
                const float* ks = src + e + h * hd;
                const float* vs = src + 2 * e + h * hd;
                for (int64_t c = 0; c < hd; ++c) {
                    q[c] = qs[c] * dims.scale;
                    kt[c * kb] = ks[c];
                    v[c] = vs[c];
                }
            }
        }
    });
}

// out rows = merged rows @ proj_weight^T + proj_bias, in kProjectionRows chunks.
void project_out(const float* merged, int64_t rows, const AttentionWeights& weights, int64_t e,
                 int threads, float* out) {
    const int64_t chunks = chunk_count(rows);
    detail::parallel_for(
        chunks, detail::worker_count(threads, chunks), [&](int64_t chunk, int64_t) {
            const int64_t row0 = chunk * kProjectionRows;
            linear(merged + row0 * e, std::min(kProjectionRows, rows - row0), e,
                   weights.proj_weight.data(), weights.proj_bias.data(), e, out + row0 * e);
        });
}

// Many small windows (Swin): groups of whole windows, about kProjectionRows rows each, one
// group per work item from projection to output, so that no packed copy of the whole batch
// is ever made. Items [0, count) of x (already offset to the first group) go to out.
void run_groups(const float* x, int64_t count, int64_t group, const detail::AttentionDims& dims,
                const AttentionWeights& weights, const detail::BiasSource& bias,
                const AttentionConfig& config, float* out, float* probs,
                detail::GroupBuffers& buffers) {
    const int64_t n = dims.tokens;
    const int64_t e = dims.embed;
    const int64_t groups = (count + group - 1) / group;
    const int64_t workers = detail::worker_count(config.threads, groups);
    std::vector<detail::PackedHeads>& packs = buffers.packs;
    std::vector<std::vector<float>>& merged = buffers.merged;
    packs.resize(std::max(packs.size(), static_cast<size_t>(workers)));
    merged.resize(std::max(merged.size(), static_cast<size_t>(workers)));
    buffers.qkv.resize(std::max(buffers.qkv.size(), static_cast<size_t>(workers)));
    for (std::vector<float>& m : merged) {
        m.resize(std::max(m.size(), static_cast<size_t>(std::min(group, count) * n * e)));
    }
    detail::parallel_for(groups, workers, [&](int64_t g, int64_t worker) {
        detail::AttentionDims sub = dims;
        const int64_t b0 = g * group;
        sub.batch = std::min(group, count - b0);
        detail::PackedHeads& packed = packs[static_cast<size_t>(worker)];
        float* m = merged[static_cast<size_t>(worker)].data();
        pack_qkv(x + b0 * n * e, weights, sub, 1, packed, buffers.qkv[static_cast<size_t>(worker)]);
        detail::run_attention_kernel(packed, bias, sub, config.causal, 1, m,
                                     probs == nullptr ? nullptr : probs + b0 * dims.heads * n * n);
        project_out(m, sub.batch * n, weights, e, 1, out + b0 * n * e);
    });
}

} // namespace

AttentionWorkspace::AttentionWorkspace() : buffers_(std::make_unique<detail::GroupBuffers>()) {}
AttentionWorkspace::~AttentionWorkspace() = default;

int64_t attention_group_items(int64_t batch, int64_t tokens) {
    if (batch < 1 || tokens < 1) {
        return 0;
    }
    // The choice depends on the shapes only, never on threads.
    const int64_t group = std::max<int64_t>(1, kProjectionRows / tokens);
    const int64_t groups = (batch + group - 1) / group;
    return group >= 2 && groups >= 4 ? group : 0;
}

FloatTensor attention_forward(const FloatTensor& x, const AttentionWeights& weights,
                              const EntryIndex& index, const AttentionConfig& config,
                              FloatTensor* probs) {
    const detail::AttentionDims dims = detail::check_attention_inputs(x, weights, index, config);
    const int64_t n = dims.tokens;
    const int64_t e = dims.embed;
    const int64_t nh = dims.heads;
    const detail::BiasSource bias = detail::make_bias_source(weights.table, index, nh);
    const BlasSingleThreadScope blas_threads;
    if (probs != nullptr) {
        *probs = FloatTensor({dims.batch, nh, n, n});
    }
    float* probs_data = probs == nullptr ? nullptr : probs->data();

    if (const int64_t group = attention_group_items(dims.batch, n); group > 0) {
        FloatTensor out({dims.batch, n, e});
        detail::GroupBuffers buffers;
        run_groups(x.data(), dims.batch, group, dims, weights, bias, config, out.data(), probs_data,
                   buffers);
        return out;
    }

    std::vector<float> merged;
    {
        detail::PackedHeads packed;
        std::vector<std::vector<float>> chunk_buffers;
        pack_qkv(x.data(), weights, dims, config.threads, packed, chunk_buffers);
        merged.resize(static_cast<size_t>(dims.batch * n * e));
        detail::run_attention_kernel(packed, bias, dims, config.causal, config.threads,
                                     merged.data(), probs_data);
    }
    FloatTensor out({dims.batch, n, e});
    project_out(merged.data(), dims.batch * n, weights, e, config.threads, out.data());
    return out;
}

void attention_forward_part(const FloatTensor& x_part, int64_t first, int64_t batch,
                            const AttentionWeights& weights, const EntryIndex& index,
                            const AttentionConfig& config, float* out,
                            AttentionWorkspace* workspace) {
    const detail::AttentionDims dims =
        detail::check_attention_inputs(x_part, weights, index, config);
    const int64_t group = attention_group_items(batch, dims.tokens);
    const int64_t count = dims.batch;
    if (group == 0 || first < 0 || first % group != 0 || count > batch - first ||
        (count % group != 0 && first + count != batch)) {
        throw Error(fmt::format("attention_forward_part: items [{}, {}) of a batch of {} are "
                                "not whole groups of {} windows",
                                first, first + count, batch, group));
    }
    const detail::BiasSource bias = detail::make_bias_source(weights.table, index, dims.heads);
    const BlasSingleThreadScope blas_threads;
    detail::GroupBuffers local;
    run_groups(x_part.data(), count, group, dims, weights, bias, config, out, nullptr,
               workspace != nullptr ? *workspace->buffers_ : local);
}

} // namespace rpb
