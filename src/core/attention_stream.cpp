#include "rpb/attention_stream.hpp"

#include "rpb/error.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <memory>
#include <utility>
#include <vector>

namespace rpb {

namespace {

// Everything a streamed run keeps between the writer's calls; shared by the RowSource's
// fill function (which the writer may call from a worker thread, never two at once).
struct StreamState {
    InputItems read_items;
    AttentionWeights weights;
    EntryIndex index;
    AttentionConfig config;
    int64_t batch = 0;
    int64_t tokens = 0;
    int64_t embed = 0;
    int64_t group = 0;      ///< attention_group_items(batch, tokens)
    int64_t part_items = 0; ///< items per computed part, a multiple of group
    AttentionWorkspace workspace;
    std::vector<float> cached;
    int64_t cached_first = 0; ///< items [cached_first, cached_end) are in `cached`
    int64_t cached_end = 0;

    StreamState(InputItems read, AttentionWeights w, const EntryIndex& i, AttentionConfig c)
        : read_items(std::move(read)), weights(std::move(w)), index(i), config(c) {}

    // Output of items [first, end) (first a multiple of group) into out, part by part; the
    // workers read the input group by group.
    void compute(int64_t first, int64_t end, float* out) {
        const int64_t item_floats = tokens * embed;
        for (int64_t b = first; b < end; b += part_items) {
            const int64_t count = std::min(part_items, end - b);
            attention_forward_read(read_items, {batch, tokens, embed}, b, count, weights, index,
                                   config, out + (b - first) * item_floats, &workspace);
        }
    }

    void fill(int64_t first_row, int64_t rows, float* out) {
        if (rows <= 0) {
            return;
        }
        // The whole groups that cover the rows asked for.
        const int64_t first_item = first_row / tokens / group * group;
        const int64_t end_item =
            std::min(batch, (first_row + rows + tokens * group - 1) / (tokens * group) * group);
        if (first_row == first_item * tokens && first_row + rows == end_item * tokens) {
            compute(first_item, end_item, out);
            return;
        }
        if (first_item < cached_first || end_item > cached_end) {
            cached.resize(static_cast<size_t>((end_item - first_item) * tokens * embed));
            compute(first_item, end_item, cached.data());
            cached_first = first_item;
            cached_end = end_item;
        }
        const float* source = cached.data() + (first_row - cached_first * tokens) * embed;
        std::copy(source, source + rows * embed, out);
    }
};

} // namespace

RowSource<float> streamed_attention(const Shape& x_shape, InputItems read_items,
                                    AttentionWeights weights, const EntryIndex& index,
                                    const AttentionConfig& config, int64_t part_bytes) {
    if (x_shape.size() != 3 || attention_group_items(x_shape[0], x_shape[1]) == 0) {
        throw Error(fmt::format("streamed attention needs a batch of many small windows (B, N, "
                                "E), found shape {}",
                                shape_string(x_shape)));
    }
    auto state =
        std::make_shared<StreamState>(std::move(read_items), std::move(weights), index, config);
    state->batch = x_shape[0];
    state->tokens = x_shape[1];
    state->embed = x_shape[2];
    state->group = attention_group_items(state->batch, state->tokens);
    const int64_t group_bytes =
        state->group * state->tokens * state->embed * static_cast<int64_t>(sizeof(float));
    state->part_items = state->group * std::max<int64_t>(1, part_bytes / group_bytes);

    RowSource<float> source;
    source.shape = x_shape;
    source.rows_per_fill = state->part_items * state->tokens;
    source.fill = [state](int64_t first_row, int64_t rows, float* out) {
        state->fill(first_row, rows, out);
    };
    return source;
}

} // namespace rpb
