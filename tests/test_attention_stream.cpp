// The many-window path in pieces: attention_forward_part and streamed_attention must give
// exactly (bit for bit) the rows of one attention_forward over the whole batch.
#include "rpb/attention.hpp"
#include "rpb/attention_stream.hpp"
#include "rpb/error.hpp"
#include "rpb/index.hpp"
#include "test_schemes.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <doctest/doctest.h>
#include <limits>
#include <vector>

using namespace rpb;

namespace {

FloatTensor ramp_input(const Shape& shape) {
    FloatTensor x(shape);
    uint64_t state = 12345;
    for (float& v : x.values()) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        v = (static_cast<float>(state >> 40) * 0x1.0p-24f - 0.5f) * 3.0f;
    }
    return x;
}

FloatTensor items_of(const FloatTensor& x, int64_t first, int64_t count) {
    const int64_t item = x.dim(1) * x.dim(2);
    FloatTensor part({count, x.dim(1), x.dim(2)});
    std::copy_n(x.data() + first * item, count * item, part.data());
    return part;
}

bool same_bits(const float* a, const float* b, int64_t count) {
    return std::memcmp(a, b, static_cast<size_t>(count) * sizeof(float)) == 0;
}

} // namespace

TEST_CASE("rpb::attention_group_items groups many small windows only") {
    CHECK(attention_group_items(256, 49) == 5);
    CHECK(attention_group_items(20, 49) == 5);
    CHECK(attention_group_items(15, 49) == 0); // 3 groups: computed as one batch
    CHECK(attention_group_items(200, 9) == 28);
    CHECK(attention_group_items(64, 200) == 0); // one window per projection chunk
    CHECK(attention_group_items(1, 4096) == 0);
    CHECK(attention_group_items(0, 49) == 0);
}

TEST_CASE("rpb::attention_forward_part gives the whole batch's rows bit for bit") {
    const Scheme scheme = window2d_scheme(7, 7);
    const EntryIndex index(scheme);
    const AttentionWeights weights = init_weights(96, 3, scheme.num_entries(), 3);
    const AttentionConfig config{.heads = 3};
    const int64_t batch = 37; // groups of 5: the last holds 2 windows
    const FloatTensor x = ramp_input({batch, 49, 96});
    const FloatTensor whole = attention_forward(x, weights, index, config, nullptr);
    const int64_t item = 49 * 96;
    AttentionWorkspace workspace;
    for (const auto& [first, count] :
         {std::pair<int64_t, int64_t>{0, 5}, {5, 15}, {20, 17}, {35, 2}, {0, 37}}) {
        CAPTURE(first);
        std::vector<float> out(static_cast<size_t>(count * item));
        attention_forward_part(items_of(x, first, count), first, batch, weights, index, config,
                               out.data(), &workspace);
        CHECK(same_bits(out.data(), whole.data() + first * item, count * item));
    }
    std::vector<float> out(static_cast<size_t>(10 * item));
    CHECK_THROWS_WITH_AS(
        attention_forward_part(items_of(x, 3, 5), 3, batch, weights, index, config, out.data()),
        "attention_forward_part: items [3, 8) of a batch of 37 are not whole "
        "groups of 5 windows",
        Error);
    CHECK_THROWS_WITH_AS(
        attention_forward_part(items_of(x, 0, 7), 0, batch, weights, index, config, out.data()),
        "attention_forward_part: items [0, 7) of a batch of 37 are not whole "
        "groups of 5 windows",
        Error);
    // A batch too small to be grouped has no parts.
    CHECK_THROWS_AS(
        attention_forward_part(items_of(x, 0, 5), 0, 10, weights, index, config, out.data()),
        Error);
}

TEST_CASE("rpb::streamed_attention serves any row range with the whole batch's bits") {
    const Scheme scheme = window2d_scheme(3, 4);
    const EntryIndex index(scheme);
    const AttentionWeights weights = init_weights(16, 2, scheme.num_entries(), 8);
    const AttentionConfig config{.heads = 2};
    const int64_t batch = 151; // groups of 21 windows of 12 tokens
    const FloatTensor x = ramp_input({batch, 12, 16});
    const FloatTensor whole = attention_forward(x, weights, index, config, nullptr);
    // Called from the workers at once: counts are atomic.
    std::atomic<int64_t> items_read{0};
    std::atomic<int64_t> reads_outside{0};
    auto read = [&](int64_t first, int64_t count, float* out) {
        if (first < 0 || first + count > batch) {
            reads_outside.fetch_add(1);
            return;
        }
        items_read.fetch_add(count);
        std::copy_n(x.data() + first * 12 * 16, count * 12 * 16, out);
    };
    // Parts of 2 groups (42 windows): 4 parts, the last one shorter.
    RowSource<float> source =
        streamed_attention(x.shape(), read, weights, index, config, 42 * 12 * 16 * 4);
    CHECK(source.shape == Shape{batch, 12, 16});
    CHECK(source.rows_per_fill == 42 * 12);
    CHECK(source.in_memory == nullptr);

    // The writer's blocks: each item read once.
    std::vector<float> block(static_cast<size_t>(source.rows_per_fill * 16));
    for (int64_t row = 0; row < batch * 12; row += source.rows_per_fill) {
        const int64_t rows = std::min(source.rows_per_fill, batch * 12 - row);
        source.fill(row, rows, block.data());
        CHECK(same_bits(block.data(), whole.data() + row * 16, rows * 16));
    }
    CHECK(items_read.load() == batch);
    CHECK(reads_outside.load() == 0);

    // Row by row (the text writer) and ranges across groups and parts.
    for (const auto& [row, rows] : {std::pair<int64_t, int64_t>{0, 1},
                                    {1, 1},
                                    {11, 2},
                                    {250, 300},
                                    {1811, 1},
                                    {600, 1212},
                                    {0, 151 * 12}}) {
        CAPTURE(row);
        std::vector<float> out(static_cast<size_t>(rows * 16));
        source.fill(row, rows, out.data());
        CHECK(same_bits(out.data(), whole.data() + row * 16, rows * 16));
    }
}

TEST_CASE("rpb::streamed_attention refuses batches that are not grouped") {
    const Scheme scheme = window2d_scheme(7, 7);
    const AttentionWeights weights = init_weights(96, 3, scheme.num_entries(), 0);
    auto read = [](int64_t, int64_t, float*) {};
    CHECK_THROWS_WITH_AS(streamed_attention({3, 49, 96}, read, weights, EntryIndex(scheme), {}),
                         "streamed attention needs a batch of many small windows (B, N, E), "
                         "found shape (3, 49, 96)",
                         Error);
    CHECK_THROWS_AS(streamed_attention({49, 96}, read, weights, EntryIndex(scheme), {}), Error);
}

TEST_CASE("rpb::streamed_attention reports bad values from the part that holds them") {
    const Scheme scheme = window2d_scheme(2, 2);
    const EntryIndex index(scheme);
    const AttentionWeights weights = init_weights(8, 2, scheme.num_entries(), 1);
    FloatTensor x = ramp_input({300, 4, 8});
    x[299 * 32 + 5] = std::numeric_limits<float>::quiet_NaN();
    auto read = [&](int64_t first, int64_t count, float* out) {
        std::copy_n(x.data() + first * 32, count * 32, out);
    };
    RowSource<float> source = streamed_attention(x.shape(), read, weights, index, {.heads = 2});
    std::vector<float> out(static_cast<size_t>(300 * 4 * 8));
    CHECK_THROWS_AS(source.fill(0, 300 * 4, out.data()), Error);
}

TEST_CASE("rpb::attention_forward_read reads group by group and gives the whole batch's bits") {
    const Scheme scheme = window2d_scheme(7, 7);
    const EntryIndex index(scheme);
    const AttentionWeights weights = init_weights(96, 3, scheme.num_entries(), 5);
    const int64_t batch = 37;
    const int64_t item = 49 * 96;
    const FloatTensor x = ramp_input({batch, 49, 96});
    const FloatTensor whole = attention_forward(x, weights, index, {.heads = 3}, nullptr);
    std::atomic<int64_t> items_read{0};
    auto read = [&](int64_t first, int64_t count, float* out) {
        items_read.fetch_add(count);
        std::copy_n(x.data() + first * item, count * item, out);
    };
    for (const int threads : {1, 2, 3}) {
        AttentionWorkspace workspace;
        for (const auto& [first, count] :
             {std::pair<int64_t, int64_t>{0, 5}, {5, 30}, {35, 2}, {0, 37}}) {
            CAPTURE(threads);
            CAPTURE(first);
            items_read = 0;
            std::vector<float> out(static_cast<size_t>(count * item));
            attention_forward_read(read, x.shape(), first, count, weights, index,
                                   {.heads = 3, .threads = threads}, out.data(), &workspace);
            CHECK(items_read.load() == count);
            CHECK(same_bits(out.data(), whole.data() + first * item, count * item));
        }
    }
    std::vector<float> out(static_cast<size_t>(batch * item));
    CHECK_THROWS_WITH_AS(
        attention_forward_read(read, x.shape(), 3, 5, weights, index, {.heads = 3}, out.data()),
        "attention_forward_read: items [3, 8) of a batch of 37 are not whole "
        "groups of 5 windows",
        Error);
}

TEST_CASE("rpb::attention_forward_read reports the first group's error, whatever the threads") {
    const Scheme scheme = window2d_scheme(2, 2);
    const EntryIndex index(scheme);
    const AttentionWeights weights = init_weights(8, 2, scheme.num_entries(), 1);
    const int64_t batch = 640; // groups of 64 windows of 4 tokens
    REQUIRE(attention_group_items(batch, 4) == 64);
    FloatTensor x = ramp_input({batch, 4, 8});
    // A NaN the library finds (item 300, group 4) and an item the reader refuses (item 500,
    // group 7): group 4's error comes first in batch order.
    x[300 * 32 + 7] = std::numeric_limits<float>::quiet_NaN();
    auto read = [&](int64_t first, int64_t count, float* out) {
        if (first <= 500 && 500 < first + count) {
            throw Error("cannot read item 500");
        }
        std::copy_n(x.data() + first * 32, count * 32, out);
    };
    std::vector<float> out(static_cast<size_t>(batch * 32));
    for (int run = 0; run < 20; ++run) {
        for (const int threads : {1, 2, 4}) {
            CAPTURE(threads);
            CHECK_THROWS_WITH_AS(attention_forward_read(read, x.shape(), 0, batch, weights, index,
                                                        {.heads = 2, .threads = threads},
                                                        out.data()),
                                 "attention input holds a non-finite value (nan) at flat index "
                                 "9607",
                                 Error);
        }
    }
    // Without the NaN, the reader's own error.
    x[300 * 32 + 7] = 0.0f;
    CHECK_THROWS_WITH_AS(
        attention_forward_read(read, x.shape(), 0, batch, weights, index, {.heads = 2}, out.data()),
        "cannot read item 500", Error);
}
