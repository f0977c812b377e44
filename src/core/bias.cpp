#include "rpb/bias.hpp"

#include "rpb/error.hpp"
#include "rpb/index.hpp"
#include "rpb/worker_thread.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <vector>

namespace rpb {
namespace {

int64_t check_table(const Scheme& scheme, const FloatTensor& table) {
    scheme.validate();
    const int64_t entries = scheme.num_entries();
    if (table.rank() != 2 || table.dim(0) != entries || table.dim(1) < 1) {
        throw Error(fmt::format("table has shape {}: expected (entries, heads) with {} entries "
                                "for {}",
                                shape_string(table.shape()), entries, scheme.describe()));
    }
    return table.dim(1);
}

// Everything a row needs, computed once; shared by the copies of the RowSource.
struct BiasPlan {
    SchemeType type = SchemeType::t5;
    int64_t q = 0;
    int64_t k = 0;
    int64_t heads = 0;
    int64_t total_rows = 0;
    // t5 and 1d: the map is Toeplitz, so head h's row i is the window
    // diagonals[h][q-1-i, q-1-i+k) of one vector of q + k - 1 values.
    int64_t diagonal_length = 0;
    std::vector<float> diagonals;
    // 2d: with the spatial part of head h's table column reversed, the key block of window
    // row r2 in query (r1, c1)'s row is Ww consecutive values of it (the column index falls
    // by one per key column), starting at nrd - A - c1 - Ww, A = (r1-r2+Wh-1)(2Ww-1).
    int64_t window_h = 0;
    int64_t window_w = 0;
    int64_t spatial = 0; // nrd
    bool cls_token = false;
    std::vector<float> reversed; // heads x nrd
    std::vector<float> cls;      // heads x 3: entries nrd, nrd + 1, nrd + 2
    BiasProgress progress;

    void fill_row(int64_t h, int64_t i, float* out) const;
    void fill_rows(int64_t first, int64_t count, float* out) const;
    void fill(int64_t first, int64_t count, float* out) const;
};

void BiasPlan::fill_row(int64_t h, int64_t i, float* out) const {
    if (type != SchemeType::window2d) {
        const float* diagonal = diagonals.data() + h * diagonal_length + (q - 1 - i);
        std::memcpy(out, diagonal, static_cast<size_t>(k) * sizeof(float));
        return;
    }
    if (cls_token) {
        const float* c = cls.data() + 3 * h;
        if (i == 0) {
            out[0] = c[2];
            std::fill(out + 1, out + k, c[0]);
            return;
        }
        out[0] = c[1];
        ++out;
        --i;
    }
    const int64_t r1 = i / window_w;
    const int64_t c1 = i % window_w;
    const float* column = reversed.data() + h * spatial;
    for (int64_t r2 = 0; r2 < window_h; ++r2) {
        const int64_t a = (r1 - r2 + window_h - 1) * (2 * window_w - 1);
        std::memcpy(out + r2 * window_w, column + (spatial - a - c1 - window_w),
                    static_cast<size_t>(window_w) * sizeof(float));
    }
}

void BiasPlan::fill_rows(int64_t first, int64_t count, float* out) const {
    const int64_t per_batch = heads * q;
    int64_t h = (first % per_batch) / q;
    int64_t i = first % q;
    for (int64_t r = 0; r < count; ++r, out += k) {
        fill_row(h, i, out);
        if (++i == q) {
            i = 0;
            if (++h == heads) {
                h = 0;
            }
        }
    }
}

// Copying rows into a block that stays in cache runs at tens of GB/s on one core, faster
// than two threads sharing the block (measured: 40-50 vs 30-37 GB/s for the writer's 4 MB
// blocks), so only calls large enough to write to fresh memory (a whole tensor) are split.
// Splitting by rows keeps every byte independent of the split.
void BiasPlan::fill(int64_t first, int64_t count, float* out) const {
    if (first < 0 || count < 0 || first + count > total_rows) {
        throw Error(fmt::format("bias rows [{}, {}) out of range: the tensor has {} rows", first,
                                first + count, total_rows));
    }
    constexpr int64_t min_bytes_per_thread = int64_t{8} << 20;
    const int64_t bytes = count * k * static_cast<int64_t>(sizeof(float));
    const int64_t threads = std::clamp<int64_t>(
        std::min<int64_t>(hardware_threads(), bytes / min_bytes_per_thread), 1, 16);
    if (threads == 1) {
        fill_rows(first, count, out);
    } else {
        std::vector<WorkerThread> workers;
        const int64_t chunk = (count + threads - 1) / threads;
        for (int64_t t = 1; t < threads; ++t) {
            const int64_t begin = std::min(count, t * chunk);
            const int64_t end = std::min(count, begin + chunk);
            workers.emplace_back([this, first, begin, end, out] {
                fill_rows(first + begin, end - begin, out + begin * k);
            });
        }
        fill_rows(first, std::min(count, chunk), out);
        for (auto& worker : workers) {
            worker.join();
        }
    }
    if (progress) {
        progress(first + count, total_rows);
    }
}

} // namespace

Shape bias_shape(const Scheme& scheme, int64_t heads, std::optional<int64_t> batch) {
    if (batch && *batch < 1) {
        throw UsageError(fmt::format("invalid --batch {}: expected a number >= 1", *batch));
    }
    if (heads < 1) {
        throw UsageError(fmt::format("invalid --heads {}: expected a number >= 1", heads));
    }
    const int64_t q = scheme.num_queries();
    const int64_t k = scheme.num_keys();
    Shape shape{batch ? *batch : 1, heads, q, k};
    try {
        shape_size(shape);
    } catch (const Error&) {
        throw UsageError(fmt::format("bias of shape {} is too large", shape_string(shape)));
    }
    return {shape[0] * heads, q, k};
}

RowSource<float> bias_source(const Scheme& scheme, const FloatTensor& table,
                             std::optional<int64_t> batch, BiasProgress progress) {
    const int64_t heads = check_table(scheme, table);
    auto plan = std::make_shared<BiasPlan>();
    RowSource<float> source;
    source.shape = bias_shape(scheme, heads, batch);
    plan->type = scheme.type;
    plan->q = scheme.num_queries();
    plan->k = scheme.num_keys();
    plan->heads = heads;
    plan->total_rows = source.shape[0] * source.shape[1];
    plan->progress = std::move(progress);
    if (scheme.type != SchemeType::window2d) {
        const EntryIndex index(scheme);
        const std::vector<int32_t>& entries = index.diagonals();
        plan->diagonal_length = static_cast<int64_t>(entries.size());
        plan->diagonals.resize(static_cast<size_t>(heads) * entries.size());
        for (int64_t h = 0; h < heads; ++h) {
            float* diagonal = plan->diagonals.data() + h * plan->diagonal_length;
            for (int64_t d = 0; d < plan->diagonal_length; ++d) {
                diagonal[d] = table.at(entries[static_cast<size_t>(d)], h);
            }
        }
    } else {
        plan->window_h = scheme.window_h;
        plan->window_w = scheme.window_w;
        plan->spatial = (2 * scheme.window_h - 1) * (2 * scheme.window_w - 1);
        plan->cls_token = scheme.cls_token;
        plan->reversed.resize(static_cast<size_t>(heads * plan->spatial));
        plan->cls.resize(static_cast<size_t>(heads * 3));
        for (int64_t h = 0; h < heads; ++h) {
            for (int64_t e = 0; e < plan->spatial; ++e) {
                plan->reversed[static_cast<size_t>(h * plan->spatial + plan->spatial - 1 - e)] =
                    table.at(e, h);
            }
            for (int64_t c = 0; c < 3 && scheme.cls_token; ++c) {
                plan->cls[static_cast<size_t>(3 * h + c)] = table.at(plan->spatial + c, h);
            }
        }
    }
    source.fill = [plan](int64_t first, int64_t count, float* out) {
        plan->fill(first, count, out);
    };
    return source;
}

FloatTensor bias_tensor(const Scheme& scheme, const FloatTensor& table,
                        std::optional<int64_t> batch) {
    const RowSource<float> source = bias_source(scheme, table, batch);
    FloatTensor bias(source.shape);
    source.fill(0, source.shape[0] * source.shape[1], bias.data());
    return bias;
}

FloatTensor bias_reference(const Scheme& scheme, const FloatTensor& table,
                           std::optional<int64_t> batch) {
    const int64_t heads = check_table(scheme, table);
    FloatTensor bias(bias_shape(scheme, heads, batch));
    const int64_t q = bias.dim(1);
    const int64_t k = bias.dim(2);
    for (int64_t row = 0; row < bias.dim(0); ++row) {
        const int64_t h = row % heads; // row b * heads + h
        for (int64_t i = 0; i < q; ++i) {
            for (int64_t j = 0; j < k; ++j) {
                bias[(row * q + i) * k + j] = table.at(entry_of(scheme, i, j), h);
            }
        }
    }
    return bias;
}

} // namespace rpb
