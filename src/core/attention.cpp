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
#include "attention_tile.hpp"
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

// Sets `packed` up for dims. Zero-filled when the layout is new; buffers reused with the same
// layout (a worker's next group of windows) keep their zero padding, since every data
// position is rewritten by scatter_qkv (the refill was 19 MB of memset in a 256-window Swin
// run).
void layout_packed(const detail::AttentionDims& dims, detail::PackedHeads& packed) {
    const int64_t n = dims.tokens;
    const int64_t nbh = dims.batch * dims.heads;
    const bool same_layout =
        packed.dpad == round_up(dims.head_dim, 16) && packed.q_rows == round_up(n, 4) &&
        packed.k_rows == round_up(n, detail::kBlockKeys) &&
        packed.q.size() == static_cast<size_t>(nbh * packed.q_rows * packed.dpad);
    packed.dpad = round_up(dims.head_dim, 16);
    packed.q_rows = round_up(n, 4);
    packed.k_rows = round_up(n, detail::kBlockKeys);
    if (!same_layout) {
        packed.q.assign(static_cast<size_t>(nbh * packed.q_rows * packed.dpad), 0.0f);
        packed.kt.assign(static_cast<size_t>(nbh * packed.k_rows * packed.dpad), 0.0f);
        packed.v.assign(static_cast<size_t>(nbh * packed.k_rows * packed.dpad), 0.0f);
    }
}

// Scatters projected rows [row0, row0 + rows) of the batch (each [q | k | v], head-major,
// `ld` floats apart) into the kernel's per-head layout, q multiplied by the scale.
void scatter_qkv(const float* qkv, int64_t ld, int64_t row0, int64_t rows,
                 const detail::AttentionDims& dims, detail::PackedHeads& packed) {
    const int64_t n = dims.tokens;
    const int64_t e = dims.embed;
    const int64_t hd = dims.head_dim;
    const int64_t kb = detail::kBlockKeys;
    const int64_t dpad = packed.dpad;
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t b = (row0 + r) / n;
        const int64_t i = (row0 + r) % n;
        const float* src = qkv + r * ld;
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
}

// Projects the dims.batch * dims.tokens rows of x into `packed` in row chunks (OpenBLAS
// sgemm), using (and growing) one chunk buffer per worker from `buffers`.
void pack_qkv(const float* x, const AttentionWeights& weights, const detail::AttentionDims& dims,
              int threads, detail::PackedHeads& packed, std::vector<std::vector<float>>& buffers) {
    const int64_t e = dims.embed;
    layout_packed(dims, packed);
    const int64_t total_rows = dims.batch * dims.tokens;
    const int64_t chunks = chunk_count(total_rows);
    const int64_t workers = detail::worker_count(threads, chunks);
    buffers.resize(std::max(buffers.size(), static_cast<size_t>(workers)));
    for (std::vector<float>& buf : buffers) {
        buf.resize(std::max(buf.size(),
                            static_cast<size_t>(std::min(kProjectionRows, total_rows) * 3 * e)));
    }
    detail::parallel_for(chunks, workers, [&](int64_t chunk, int64_t worker) {
        const int64_t row0 = chunk * kProjectionRows;
        const int64_t rows = std::min(kProjectionRows, total_rows - row0);
        float* buf = buffers[static_cast<size_t>(worker)].data();
        linear(x + row0 * e, rows, e, weights.qkv_weight.data(), weights.qkv_bias.data(), 3 * e,
               buf);
        scatter_qkv(buf, 3 * e, row0, rows, dims, packed);
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

// The projection weights as the tile kernel reads them, W^T (in, out): the grouped path
// multiplies each small group by them with its own kernel instead of sgemm, which would
// repack the weights on every call and needs the bias copied into every output row first.
struct ProjectionPanels {
    std::vector<float> qkv_t;  ///< (E, 3E)
    std::vector<float> proj_t; ///< (E, E)
};

std::vector<float> transposed(const FloatTensor& weight) {
    const int64_t rows = weight.dim(0);
    const int64_t cols = weight.dim(1);
    std::vector<float> t(static_cast<size_t>(rows * cols));
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
            t[c * rows + r] = weight.data()[r * cols + c];
        }
    }
    return t;
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
    const ProjectionPanels panels{transposed(weights.qkv_weight), transposed(weights.proj_weight)};
    const auto slots = static_cast<size_t>(workers);
    buffers.packs.resize(std::max(buffers.packs.size(), slots));
    buffers.merged.resize(std::max(buffers.merged.size(), slots));
    buffers.qkv.resize(std::max(buffers.qkv.size(), slots));
    buffers.kernel.resize(std::max(buffers.kernel.size(), slots));
    const auto group_rows = static_cast<size_t>(std::min(group, count) * n);
    for (size_t w = 0; w < slots; ++w) {
        buffers.merged[w].resize(std::max(buffers.merged[w].size(), group_rows * e));
        buffers.qkv[w].resize(std::max(buffers.qkv[w].size(), group_rows * 3 * e));
    }
    detail::parallel_for(groups, workers, [&](int64_t g, int64_t worker) {
        detail::AttentionDims sub = dims;
        const int64_t b0 = g * group;
        sub.batch = std::min(group, count - b0);
        const int64_t rows = sub.batch * n;
        const auto w = static_cast<size_t>(worker);
        detail::PackedHeads& packed = buffers.packs[w];
        float* qkv = buffers.qkv[w].data();
        float* merged = buffers.merged[w].data();
        detail::tile_gemm(rows, 3 * e, e, x + b0 * n * e, e, panels.qkv_t.data(), 3 * e, qkv, 3 * e,
                          nullptr, weights.qkv_bias.data());
        layout_packed(sub, packed);
        scatter_qkv(qkv, 3 * e, 0, rows, sub, packed);
        detail::run_attention_kernel(packed, bias, sub, config.causal, 1, merged,
                                     probs == nullptr ? nullptr : probs + b0 * dims.heads * n * n,
                                     buffers.kernel[w]);
        detail::tile_gemm(rows, e, e, merged, e, panels.proj_t.data(), e, out + b0 * n * e, e,
                          nullptr, weights.proj_bias.data());
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
        std::vector<detail::KernelWorkspace> spaces;
        detail::run_attention_kernel(packed, bias, dims, config.causal, config.threads,
                                     merged.data(), probs_data, spaces);
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
