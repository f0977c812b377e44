// Fused attention: the two projections with the tiled kernel (attention_kernel.cpp) in
// between. Two paths:
// - one batch (long sequences, T5): rpb::gemm for the projections; the qkv projection
//   runs in row chunks and is scattered straight into the kernel's packed per-head layout,
//   so the (B, N, 3E) qkv tensor never exists whole; the packed operands are freed before
//   the output is allocated.
// - many small windows (Swin, attention_group_items > 0): groups of ~256 rows of whole
//   windows, each taken by one worker from its input rows to its output rows, projections
//   included (tile_gemm with the bias in the accumulators: gemm would repack the weights
//   for every small call), so a group's data stays in cache.
//
// Threads: our own workers run everything, the gemm calls included (one row chunk per call;
// gemm has no threads of its own).
#include "rpb/attention.hpp"

#include "attention_internal.hpp"
#include "attention_tile.hpp"
#include "rpb/error.hpp"
#include "rpb/gemm.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <fmt/format.h>
#include <functional>
#include <limits>
#include <mutex>

namespace rpb {
namespace {

// Rows of x per projection gemm call. Fixed, so that the chunks and thus every gemm call
// are the same whatever the thread count.
constexpr int64_t kProjectionRows = 256;

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
    gemm({.trans_b = true, .m = rows, .n = cols, .k = inner}, in, inner, weight, inner, 1.0f, out,
         cols);
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
    const float scale = dims.scale;
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t b = (row0 + r) / n;
        const int64_t i = (row0 + r) % n;
        const float* src = qkv + r * ld;
        for (int64_t h = 0; h < dims.heads; ++h) {
            const int64_t bh = b * dims.heads + h;
            // Distinct buffers: __restrict lets the compiler vectorise the q and v rows (with
            // possible aliasing it reloaded the scale and stored element by element).
            float* __restrict q = packed.q_slab(bh) + i * dpad;
            float* __restrict kt = packed.kt_slab(bh) + (i / kb) * dpad * kb + i % kb;
            float* __restrict v = packed.v_slab(bh) + i * dpad;
            const float* __restrict qs = src + h * hd;
            const float* __restrict ks = src + e + h * hd;
            const float* __restrict vs = src + 2 * e + h * hd;
            for (int64_t c = 0; c < hd; ++c) {
                q[c] = qs[c] * scale;
            }
            for (int64_t c = 0; c < hd; ++c) {
                v[c] = vs[c];
            }
            for (int64_t c = 0; c < hd; ++c) {
                kt[c * kb] = ks[c];
            }
        }
    }
}

// Projects the dims.batch * dims.tokens rows of x into `packed` in row chunks (gemm), using (and
// growing) one chunk buffer per worker from `buffers`.
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
// multiplies each small group by them with the tile kernel instead of gemm, which would
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

// Where a group's input rows come from: items [first, first + count) of the part as
// (count, N, E) floats, a pointer into memory or rows read into the worker's `buffer`.
// May throw (a read error, a non-finite value).
using GroupRows =
    std::function<const float*(int64_t first, int64_t count, std::vector<float>& buffer)>;

// The error of the first group, in batch order, whose rows could not be had: what a
// sequential run would have thrown, whichever worker met which error first.
class FirstGroupError {
public:
    void record(int64_t group, std::exception_ptr error) {
        const std::lock_guard<std::mutex> lock(mutex_);
        if (group < group_.load()) {
            group_.store(group);
            error_ = std::move(error);
        }
    }
    // Groups after a failed one need not be computed.
    bool skips(int64_t group) const { return group > group_.load(); }
    void rethrow() const {
        if (error_) {
            std::rethrow_exception(error_);
        }
    }

private:
    std::mutex mutex_;
    std::atomic<int64_t> group_{std::numeric_limits<int64_t>::max()};
    std::exception_ptr error_;
};

// Many small windows (Swin): groups of whole windows, about kProjectionRows rows each, one
// group per work item from its input rows to its output, so that no packed copy of the
// whole batch is ever made. Items [0, count) of the part go to out.
void run_groups(const GroupRows& rows_of, int64_t count, int64_t group,
                const detail::AttentionDims& dims, const AttentionWeights& weights,
                const detail::BiasSource& bias, const AttentionConfig& config, float* out,
                float* probs, detail::GroupBuffers& buffers) {
    const int64_t n = dims.tokens;
    const int64_t e = dims.embed;
    const int64_t groups = (count + group - 1) / group;
    const int64_t workers = detail::worker_count(config.threads, groups);
    const ProjectionPanels panels{transposed(weights.qkv_weight), transposed(weights.proj_weight)};
    const auto slots = static_cast<size_t>(workers);
    buffers.packs.resize(std::max(buffers.packs.size(), slots));
    buffers.input.resize(std::max(buffers.input.size(), slots));
    buffers.merged.resize(std::max(buffers.merged.size(), slots));
    buffers.qkv.resize(std::max(buffers.qkv.size(), slots));
    buffers.kernel.resize(std::max(buffers.kernel.size(), slots));
    const auto group_rows = static_cast<size_t>(std::min(group, count) * n);
    FirstGroupError failure;
    detail::parallel_for(groups, workers, [&](int64_t g, int64_t worker) {
        if (failure.skips(g)) {
            return;
        }
        detail::AttentionDims sub = dims;
        const int64_t b0 = g * group;
        sub.batch = std::min(group, count - b0);
        const int64_t rows = sub.batch * n;
        const auto w = static_cast<size_t>(worker);
        const float* x = nullptr;
        try {
            // Sized by the worker that uses them: their pages are first touched in parallel.
            if (buffers.qkv[w].size() < group_rows * 3 * e) {
                buffers.qkv[w].resize(group_rows * 3 * e);
                buffers.merged[w].resize(group_rows * e);
            }
            x = rows_of(b0, sub.batch, buffers.input[w]);
        } catch (...) {
            failure.record(g, std::current_exception());
            return;
        }
        detail::PackedHeads& packed = buffers.packs[w];
        float* qkv = buffers.qkv[w].data();
        float* merged = buffers.merged[w].data();
        detail::tile_gemm(rows, 3 * e, e, x, e, panels.qkv_t.data(), 3 * e, qkv, 3 * e, nullptr,
                          weights.qkv_bias.data());
        layout_packed(sub, packed);
        scatter_qkv(qkv, 3 * e, 0, rows, sub, packed);
        detail::run_attention_kernel(packed, bias, sub, config.causal, 1, merged,
                                     probs == nullptr ? nullptr : probs + b0 * dims.heads * n * n,
                                     buffers.kernel[w]);
        detail::tile_gemm(rows, e, e, merged, e, panels.proj_t.data(), e, out + b0 * n * e, e,
                          nullptr, weights.proj_bias.data());
    });
    failure.rethrow();
}

// Throws unless items [first, first + count) are whole groups of a batch of `batch`.
void check_whole_groups(const char* caller, int64_t first, int64_t count, int64_t batch,
                        int64_t group) {
    if (group == 0 || first < 0 || count < 0 || first % group != 0 || count > batch - first ||
        (count % group != 0 && first + count != batch)) {
        throw Error(fmt::format("{}: items [{}, {}) of a batch of {} are not whole groups of {} "
                                "windows",
                                caller, first, first + count, batch, group));
    }
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
    if (probs != nullptr) {
        *probs = FloatTensor({dims.batch, nh, n, n});
    }
    float* probs_data = probs == nullptr ? nullptr : probs->data();

    if (const int64_t group = attention_group_items(dims.batch, n); group > 0) {
        FloatTensor out({dims.batch, n, e});
        detail::GroupBuffers buffers;
        const float* xs = x.data();
        run_groups(
            [xs, n, e](int64_t first, int64_t, std::vector<float>&) { return xs + first * n * e; },
            dims.batch, group, dims, weights, bias, config, out.data(), probs_data, buffers);
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

void attention_probabilities(const FloatTensor& x, const AttentionWeights& weights,
                             const EntryIndex& index, const AttentionConfig& config,
                             const std::vector<int64_t>& heads, const ProbabilityRows& sink) {
    const detail::AttentionDims all = detail::check_attention_inputs(x, weights, index, config);
    detail::check_heads(all, heads);
    const int64_t n = all.tokens;
    const int64_t e = all.embed;
    const detail::BiasSource bias = detail::make_bias_source(weights.table, index, all.heads);

    if (const int64_t group = attention_group_items(all.batch, n); group > 0) {
        // Many small windows: the first group computed as attention_forward computes it (its
        // projections are the group's), its probabilities held: a group is ~256 rows.
        const int64_t items = std::min(group, all.batch);
        std::vector<float> out(static_cast<size_t>(items * n * e));
        std::vector<float> probs(static_cast<size_t>(items * all.heads * n * n));
        detail::GroupBuffers buffers;
        const float* xs = x.data();
        AttentionConfig one = config;
        one.threads = 1;
        run_groups(
            [xs, n, e](int64_t first, int64_t, std::vector<float>&) { return xs + first * n * e; },
            items, group, all, weights, bias, one, out.data(), probs.data(), buffers);
        for (const int64_t h : heads) {
            sink(h, 0, n, probs.data() + h * n * n);
        }
        return;
    }

    // One sequence: batch item 0 projected and packed, then each head's query blocks in
    // waves of about kWaveFloats probabilities (at least one block per worker).
    detail::AttentionDims dims = all;
    dims.batch = 1;
    detail::PackedHeads packed;
    {
        std::vector<std::vector<float>> chunk_buffers;
        pack_qkv(x.data(), weights, dims, config.threads, packed, chunk_buffers);
    }
    constexpr int64_t kWaveFloats = int64_t{1} << 22;
    const int64_t qblocks = (n + detail::kBlockQueries - 1) / detail::kBlockQueries;
    const int64_t workers = detail::worker_count(config.threads, qblocks);
    const int64_t wave_blocks =
        std::min(qblocks, std::max(workers, kWaveFloats / (detail::kBlockQueries * n)));
    std::vector<float> rows(
        static_cast<size_t>(std::min(n, wave_blocks * detail::kBlockQueries) * n));
    std::vector<detail::KernelWorkspace> spaces;
    for (const int64_t h : heads) {
        for (int64_t first = 0; first < qblocks; first += wave_blocks) {
            const detail::KernelSlice slice{h, first, std::min(wave_blocks, qblocks - first)};
            const int64_t q0 = first * detail::kBlockQueries;
            const int64_t count = std::min(n, q0 + slice.blocks * detail::kBlockQueries) - q0;
            // The kernel writes every unmasked probability of the slice's rows; masked keys
            // (causal) are never written, so only then is the buffer cleared first.
            if (config.causal) {
                std::fill(rows.begin(), rows.begin() + count * n, 0.0f);
            }
            detail::run_attention_kernel(packed, bias, dims, config.causal, config.threads, nullptr,
                                         rows.data(), spaces, &slice);
            sink(h, q0, count, rows.data());
        }
    }
}

void attention_forward_part(const FloatTensor& x_part, int64_t first, int64_t batch,
                            const AttentionWeights& weights, const EntryIndex& index,
                            const AttentionConfig& config, float* out,
                            AttentionWorkspace* workspace) {
    const detail::AttentionDims dims =
        detail::check_attention_inputs(x_part, weights, index, config);
    const int64_t group = attention_group_items(batch, dims.tokens);
    check_whole_groups("attention_forward_part", first, dims.batch, batch, group);
    const detail::BiasSource bias = detail::make_bias_source(weights.table, index, dims.heads);
    detail::GroupBuffers local;
    const float* xs = x_part.data();
    const int64_t item_floats = dims.tokens * dims.embed;
    run_groups([xs, item_floats](int64_t b0, int64_t,
                                 std::vector<float>&) { return xs + b0 * item_floats; },
               dims.batch, group, dims, weights, bias, config, out, nullptr,
               workspace != nullptr ? workspace->buffers() : local);
}

void attention_forward_read(const InputItems& read_items, const Shape& x_shape, int64_t first,
                            int64_t count, const AttentionWeights& weights, const EntryIndex& index,
                            const AttentionConfig& config, float* out,
                            AttentionWorkspace* workspace) {
    Shape part_shape = x_shape;
    if (part_shape.size() == 3) {
        part_shape[0] = count;
    }
    const detail::AttentionDims dims =
        detail::check_attention_setup(part_shape, weights, index, config);
    const int64_t group = attention_group_items(x_shape[0], dims.tokens);
    check_whole_groups("attention_forward_read", first, count, x_shape[0], group);
    const detail::BiasSource bias = detail::make_bias_source(weights.table, index, dims.heads);
    detail::GroupBuffers local;
    const int64_t item_floats = dims.tokens * dims.embed;
    // Each worker reads its group into its own buffer and checks it (the library's contract,
    // whatever the reader does): the rows are in cache for the projection that follows.
    run_groups(
        [&read_items, first, item_floats](int64_t b0, int64_t items, std::vector<float>& buffer) {
            const auto floats = static_cast<size_t>(items * item_floats);
            if (buffer.size() < floats) {
                buffer.resize(floats);
            }
            read_items(first + b0, items, buffer.data());
            detail::check_finite_input(buffer.data(), items * item_floats,
                                       (first + b0) * item_floats);
            return static_cast<const float*>(buffer.data());
        },
        dims.batch, group, dims, weights, bias, config, out, nullptr,
        workspace != nullptr ? workspace->buffers() : local);
}

} // namespace rpb
