#include "rpb/array.hpp"
#include "rpb/attention.hpp"
#include "rpb/error.hpp"
#include "rpb/index.hpp"
#include "rpb/npy.hpp"
#include "rpb/safetensors.hpp"
#include "test_schemes.hpp"

#include <algorithm>
#include <cmath>
#include <doctest/doctest.h>
#include <limits>
#include <string>
#include <vector>

using namespace rpb;

namespace {

const std::string kGolden = std::string(RPB_TEST_DATA_DIR) + "/golden/attn_swin_2x2_e8_h2/";

FloatTensor golden_npy(const std::string& name) {
    return to_float32(read_npy(kGolden + name), name);
}

std::map<std::string, FloatTensor> golden_weights() {
    std::map<std::string, FloatTensor> tensors;
    for (const auto& [name, array] : read_safetensors(kGolden + "weights.safetensors")) {
        tensors.emplace(name, to_float32(array, name));
    }
    return tensors;
}

// Test inputs from a fixed LCG: roughly uniform in [-1.7, 1.7] (unit variance).
FloatTensor test_input(const Shape& shape, uint64_t seed) {
    FloatTensor x(shape);
    uint64_t state = seed * 2862933555777941757ULL + 3037000493ULL;
    for (float& v : x.values()) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        v = (static_cast<float>(state >> 40) * 0x1.0p-24f - 0.5f) * 3.46f;
    }
    return x;
}

// Weights whose table is large enough to move the softmax visibly.
AttentionWeights test_weights(int64_t e, int64_t h, int64_t entries, uint64_t seed) {
    AttentionWeights w = init_weights(e, h, entries, seed);
    for (float& v : w.table.values()) {
        v *= 50.0f;
    }
    return w;
}

double max_rel_diff(const FloatTensor& a, const FloatTensor& b) {
    REQUIRE(a.shape() == b.shape());
    double worst = 0.0;
    for (int64_t i = 0; i < a.size(); ++i) {
        worst = std::max(worst, std::fabs(double(a[i]) - b[i]) / (1.0 + std::fabs(double(b[i]))));
    }
    return worst;
}

struct Case {
    const char* name;
    Scheme scheme;
    int64_t batch;
    int64_t embed;
    int64_t heads;
    AttentionConfig config;
};

} // namespace

TEST_CASE("rpb::attention_forward reproduces the golden swin 2x2 case") {
    const AttentionWeights w = weights_from_tensors(golden_weights(), "", 8, 2, 9);
    const EntryIndex index(window2d_scheme(2, 2, false));
    const FloatTensor x = golden_npy("x.npy");
    const FloatTensor out_expected = golden_npy("out.npy");
    const FloatTensor probs_expected = golden_npy("probs.npy");

    // The golden bias pins the table orientation: bias[h, i, j] = table[index(i, j), h].
    const FloatTensor bias = golden_npy("bias.npy");
    for (int64_t h = 0; h < 2; ++h) {
        for (int64_t i = 0; i < 4; ++i) {
            for (int64_t j = 0; j < 4; ++j) {
                CHECK(bias[(h * 4 + i) * 4 + j] == w.table.at(index(i, j), h));
            }
        }
    }

    const AttentionConfig config{.heads = 2};
    FloatTensor probs;
    const FloatTensor out = attention_forward(x, w, index, config, &probs);
    CHECK(max_rel_diff(out, out_expected) < 1e-5);
    CHECK(max_rel_diff(probs, probs_expected) < 1e-5);

    FloatTensor probs_ref;
    const FloatTensor out_ref = attention_reference(x, w, index, config, &probs_ref);
    CHECK(max_rel_diff(out_ref, out_expected) < 1e-5);
    CHECK(max_rel_diff(probs_ref, probs_expected) < 1e-5);
}

TEST_CASE("rpb::attention_forward agrees with rpb::attention_reference") {
    Scheme window1d;
    window1d.type = SchemeType::window1d;
    window1d.window_w = 9;
    const Case cases[] = {
        {"t5 one token", t5_scheme(1), 1, 8, 2, {.heads = 2}},
        {"t5 70 tokens, odd head size 5, batch 2", t5_scheme(70), 2, 15, 3, {.heads = 3}},
        {"t5 130 tokens, head size 64, scale 1",
         t5_scheme(130),
         1,
         128,
         2,
         {.heads = 2, .scale = 1.0f}},
        {"t5 causal 100 tokens", t5_scheme(100, true), 2, 24, 2, {.heads = 2, .causal = true}},
        {"t5 causal 64 tokens, head size 80",
         t5_scheme(64, true),
         1,
         80,
         1,
         {.heads = 1, .causal = true}},
        {"1d window 9", window1d, 3, 12, 4, {.heads = 4}},
        {"2d 7x7 swin windows", window2d_scheme(7, 7, false), 3, 96, 3, {.heads = 3}},
        {"2d 3x5 with cls token", window2d_scheme(3, 5, true), 2, 14, 7, {.heads = 7}},
        {"2d 7x7, 23 windows (groups of whole windows)",
         window2d_scheme(7, 7, false),
         23,
         24,
         2,
         {.heads = 2}},
        {"2d 4x4, 50 windows, causal (groups of whole windows)",
         window2d_scheme(4, 4, false),
         50,
         16,
         2,
         {.heads = 2, .causal = true}},
        {"2d 3x3 with cls token, 60 windows, head size 5 (groups of whole windows)",
         window2d_scheme(3, 3, true),
         60,
         15,
         3,
         {.heads = 3}},
        {"2d 9x9 with cls token (82 tokens, two key blocks)",
         window2d_scheme(9, 9, true),
         1,
         32,
         2,
         {.heads = 2}},
    };
    uint64_t seed = 1;
    for (const Case& c : cases) {
        CAPTURE(c.name);
        const EntryIndex index(c.scheme);
        const int64_t n = index.rows();
        const AttentionWeights w = test_weights(c.embed, c.heads, index.num_entries(), seed);
        const FloatTensor x = test_input({c.batch, n, c.embed}, seed++);
        FloatTensor probs;
        FloatTensor probs_ref;
        const FloatTensor out = attention_forward(x, w, index, c.config, &probs);
        const FloatTensor out_ref = attention_reference(x, w, index, c.config, &probs_ref);
        CHECK(max_rel_diff(out, out_ref) < 2e-5);
        CHECK(max_rel_diff(probs, probs_ref) < 2e-5);
        // Without probabilities requested the output is the same.
        const FloatTensor out_only = attention_forward(x, w, index, c.config, nullptr);
        CHECK(max_rel_diff(out_only, out) == 0.0);
    }
}

TEST_CASE("rpb::attention_forward probabilities sum to one and respect the causal mask") {
    const EntryIndex index(t5_scheme(150, true));
    const AttentionWeights w = test_weights(32, 4, index.num_entries(), 7);
    const FloatTensor x = test_input({2, 150, 32}, 7);
    FloatTensor probs;
    attention_forward(x, w, index, {.heads = 4, .causal = true}, &probs);
    REQUIRE(probs.shape() == Shape{2, 4, 150, 150});
    for (int64_t row = 0; row < 2 * 4 * 150; ++row) {
        const int64_t i = row % 150;
        double sum = 0.0;
        for (int64_t j = 0; j < 150; ++j) {
            const float p = probs[row * 150 + j];
            sum += p;
            if (j > i) {
                REQUIRE(p == 0.0f);
            } else {
                REQUIRE(p >= 0.0f);
            }
        }
        CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
    }
}

TEST_CASE("rpb::attention_forward does not depend on the thread count") {
    const EntryIndex index(t5_scheme(200));
    const AttentionWeights w = test_weights(64, 4, index.num_entries(), 3);
    const FloatTensor x = test_input({2, 200, 64}, 3);
    FloatTensor probs1;
    FloatTensor probs3;
    const FloatTensor one = attention_forward(x, w, index, {.heads = 4, .threads = 1}, &probs1);
    const FloatTensor three = attention_forward(x, w, index, {.heads = 4, .threads = 3}, &probs3);
    CHECK(max_rel_diff(one, three) == 0.0);
    CHECK(max_rel_diff(probs1, probs3) == 0.0);
    SUBCASE("many small windows") {
        const EntryIndex windows(window2d_scheme(5, 5, true));
        const AttentionWeights ww = test_weights(12, 3, windows.num_entries(), 4);
        const FloatTensor xw = test_input({41, 26, 12}, 4);
        const FloatTensor w1 =
            attention_forward(xw, ww, windows, {.heads = 3, .threads = 1}, &probs1);
        const FloatTensor w2 =
            attention_forward(xw, ww, windows, {.heads = 3, .threads = 2}, &probs3);
        CHECK(max_rel_diff(w1, w2) == 0.0);
        CHECK(max_rel_diff(probs1, probs3) == 0.0);
    }
}

namespace {

// attention_probabilities' rows of batch 0, gathered into (heads listed, N, N).
FloatTensor streamed_probs(const FloatTensor& x, const AttentionWeights& w, const EntryIndex& index,
                           const AttentionConfig& config, const std::vector<int64_t>& heads) {
    const int64_t n = x.dim(1);
    FloatTensor got({static_cast<int64_t>(heads.size()), n, n});
    size_t panel = 0;
    int64_t next = 0;
    attention_probabilities(x, w, index, config, heads,
                            [&](int64_t h, int64_t first, int64_t rows, const float* values) {
                                if (next == n) {
                                    ++panel;
                                    next = 0;
                                }
                                REQUIRE(panel < heads.size());
                                REQUIRE(h == heads[panel]);
                                REQUIRE(first == next);
                                REQUIRE(rows > 0);
                                std::copy(values, values + rows * n,
                                          got.data() + (panel * n + first) * n);
                                next += rows;
                            });
    CHECK(panel + 1 == heads.size());
    CHECK(next == n);
    return got;
}

// Batch 0's probabilities of head `h` from attention_forward's (B, H, N, N).
bool same_head(const FloatTensor& all, int64_t h, const FloatTensor& got, int64_t panel) {
    const int64_t nn = all.dim(2) * all.dim(3);
    return std::equal(all.data() + h * nn, all.data() + (h + 1) * nn, got.data() + panel * nn);
}

} // namespace

TEST_CASE("rpb::attention_probabilities streams batch 0's rows of attention_forward, bit for bit") {
    SUBCASE("one sequence, a batch of two: a projection chunk crosses the items") {
        const EntryIndex index(t5_scheme(300));
        const AttentionWeights w = test_weights(32, 4, index.num_entries(), 5);
        const FloatTensor x = test_input({2, 300, 32}, 5);
        FloatTensor probs;
        attention_forward(x, w, index, {.heads = 4}, &probs);
        for (const int threads : {1, 2}) {
            const FloatTensor got =
                streamed_probs(x, w, index, {.heads = 4, .threads = threads}, {3, 0, 2});
            CHECK(same_head(probs, 3, got, 0));
            CHECK(same_head(probs, 0, got, 1));
            CHECK(same_head(probs, 2, got, 2));
        }
    }
    SUBCASE("a long sequence in several waves of query blocks, with and without a mask") {
        // The second wave reuses the first's buffer: unmasked, every value must be rewritten.
        for (const bool causal : {true, false}) {
            const EntryIndex index(t5_scheme(2600, causal));
            const AttentionWeights w = test_weights(16, 2, index.num_entries(), 6);
            const FloatTensor x = test_input({1, 2600, 16}, 6);
            FloatTensor probs;
            attention_forward(x, w, index, {.heads = 2, .causal = causal}, &probs);
            const FloatTensor got =
                streamed_probs(x, w, index, {.heads = 2, .causal = causal}, {1, 0});
            CAPTURE(causal);
            CHECK(same_head(probs, 1, got, 0));
            CHECK(same_head(probs, 0, got, 1));
            CHECK((got[5 * 2600 + 6] == 0.0f) == causal); // masked keys stay zero
        }
    }
    SUBCASE("many small windows: the first group computed as attention_forward does") {
        const EntryIndex windows(window2d_scheme(5, 5, true));
        const AttentionWeights w = test_weights(12, 3, windows.num_entries(), 7);
        const FloatTensor x = test_input({41, 26, 12}, 7);
        REQUIRE(attention_group_items(41, 26) > 0);
        FloatTensor probs;
        attention_forward(x, w, windows, {.heads = 3}, &probs);
        const FloatTensor got = streamed_probs(x, w, windows, {.heads = 3}, {1});
        CHECK(same_head(probs, 1, got, 0));
    }
    SUBCASE("errors") {
        const EntryIndex index(t5_scheme(8));
        const AttentionWeights w = test_weights(8, 2, index.num_entries(), 8);
        const FloatTensor x = test_input({1, 8, 8}, 8);
        const ProbabilityRows ignore = [](int64_t, int64_t, int64_t, const float*) {};
        CHECK_THROWS_WITH_AS(attention_probabilities(x, w, index, {.heads = 2}, {2}, ignore),
                             "head 2 is out of range: expected 0 to 1", UsageError);
        FloatTensor bad = x;
        bad[5] = std::numeric_limits<float>::quiet_NaN();
        CHECK_THROWS_AS(attention_probabilities(bad, w, index, {.heads = 2}, {0}, ignore), Error);
    }
}

TEST_CASE("rpb::attention_forward rejects bad inputs") {
    const EntryIndex index(t5_scheme(4));
    const AttentionWeights w = init_weights(8, 2, 32, 0);
    const FloatTensor x = test_input({1, 4, 8}, 0);

    CHECK_THROWS_WITH_AS(attention_forward(x, w, index, {.heads = 3}, nullptr),
                         "embed dim 8 is not divisible by 3 heads (accepted: a positive "
                         "multiple of 3)",
                         UsageError);
    CHECK_THROWS_WITH_AS(attention_forward(FloatTensor({4, 8}), w, index, {.heads = 2}, nullptr),
                         "attention input has shape (4, 8), expected (batch, tokens, embed_dim)",
                         Error);
    CHECK_THROWS_WITH_AS(
        attention_forward(test_input({1, 5, 8}, 0), w, index, {.heads = 2}, nullptr),
        "attention input has 5 tokens but the position scheme maps 4 queries "
        "to 4 keys (self-attention needs both equal to 5)",
        Error);
    CHECK_THROWS_WITH_AS(
        attention_forward(test_input({1, 4, 16}, 0), w, index, {.heads = 2}, nullptr),
        "qkv weight has shape (24, 8), expected (48, 16)", Error);
    CHECK_THROWS_WITH_AS(
        attention_forward(x, w, EntryIndex(window2d_scheme(2, 2, false)), {.heads = 2}, nullptr),
        "relative position bias table has shape (32, 2), expected (9, 2)", Error);
    FloatTensor bad = x;
    bad[5] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH_AS(attention_forward(bad, w, index, {.heads = 2}, nullptr),
                         "attention input holds a non-finite value (nan) at flat index 5", Error);
    CHECK_THROWS_WITH_AS(attention_reference(x, w, index, {.heads = 2, .scale = INFINITY}, nullptr),
                         "scale must be finite, got inf", UsageError);
}

TEST_CASE("rpb::weights_from_tensors reads swin, beit and t5 names") {
    const AttentionWeights src = init_weights(8, 2, 9, 5);
    SUBCASE("swin names under a prefix, with or without the dot") {
        const std::map<std::string, FloatTensor> tensors = {
            {"layers.0.attn.qkv.weight", src.qkv_weight},
            {"layers.0.attn.qkv.bias", src.qkv_bias},
            {"layers.0.attn.proj.weight", src.proj_weight},
            {"layers.0.attn.proj.bias", src.proj_bias},
            {"layers.0.attn.relative_position_bias_table", src.table},
        };
        for (const char* prefix : {"layers.0.attn", "layers.0.attn."}) {
            const AttentionWeights w = weights_from_tensors(tensors, prefix, 8, 2, 9);
            CHECK(max_rel_diff(w.qkv_weight, src.qkv_weight) == 0.0);
            CHECK(max_rel_diff(w.qkv_bias, src.qkv_bias) == 0.0);
            CHECK(max_rel_diff(w.proj_bias, src.proj_bias) == 0.0);
            CHECK(max_rel_diff(w.table, src.table) == 0.0);
        }
        CHECK_THROWS_WITH_AS(weights_from_tensors(tensors, "layers.1", 8, 2, 9),
                             "weights have neither 'layers.1.qkv.weight' (swin/timm) nor "
                             "'layers.1.q.weight' (t5); no tensor name starts with 'layers.1.'",
                             Error);
    }
    SUBCASE("a missing name lists the names that are there") {
        const std::map<std::string, FloatTensor> tensors = {
            {"qkv.weight", src.qkv_weight},
            {"proj.weight", src.proj_weight},
            {"proj.bias", src.proj_bias},
        };
        CHECK_THROWS_WITH_AS(weights_from_tensors(tensors, "", 8, 2, 9),
                             "weights have no tensor 'relative_position_bias_table'; found: "
                             "proj.bias, proj.weight, qkv.weight",
                             Error);
        // No qkv.bias (qkv_bias=False) means zeros; a caller-supplied table may be absent.
        const AttentionWeights w = weights_from_tensors(tensors, "", 8, 2, 9, false);
        CHECK(w.qkv_bias.shape() == Shape{24});
        CHECK(w.qkv_bias[0] == 0.0f);
        CHECK(w.table.size() == 0);
    }
    SUBCASE("shapes that do not fit name both shapes") {
        const std::map<std::string, FloatTensor> tensors = {
            {"qkv.weight", FloatTensor({24, 4})},
        };
        CHECK_THROWS_WITH_AS(weights_from_tensors(tensors, "", 8, 2, 9),
                             "qkv.weight has shape (24, 4), expected (24, 8)", Error);
    }
    SUBCASE("beit q_bias and v_bias, k bias zero") {
        const std::map<std::string, FloatTensor> tensors = {
            {"qkv.weight", src.qkv_weight},     {"q_bias", FloatTensor({8}, 1.0f)},
            {"v_bias", FloatTensor({8}, 3.0f)}, {"proj.weight", src.proj_weight},
            {"proj.bias", src.proj_bias},       {"relative_position_bias_table", src.table},
        };
        const AttentionWeights w = weights_from_tensors(tensors, "", 8, 2, 9);
        CHECK(w.qkv_bias[7] == 1.0f);
        CHECK(w.qkv_bias[8] == 0.0f);
        CHECK(w.qkv_bias[15] == 0.0f);
        CHECK(w.qkv_bias[16] == 3.0f);
    }
    SUBCASE("hf t5 names: q, k, v stacked, no biases") {
        FloatTensor q({8, 8}, 1.0f);
        FloatTensor k({8, 8}, 2.0f);
        FloatTensor v({8, 8}, 3.0f);
        FloatTensor o({8, 8}, 4.0f);
        FloatTensor rel({32, 2}, 0.5f);
        const std::map<std::string, FloatTensor> tensors = {
            {"SelfAttention.q.weight", q},
            {"SelfAttention.k.weight", k},
            {"SelfAttention.v.weight", v},
            {"SelfAttention.o.weight", o},
            {"SelfAttention.relative_attention_bias.weight", rel},
        };
        const AttentionWeights w = weights_from_tensors(tensors, "SelfAttention", 8, 2, 32);
        CHECK(w.qkv_weight.at(0, 0) == 1.0f);
        CHECK(w.qkv_weight.at(8, 3) == 2.0f);
        CHECK(w.qkv_weight.at(23, 7) == 3.0f);
        CHECK(w.proj_weight.at(2, 2) == 4.0f);
        CHECK(w.qkv_bias.shape() == Shape{24});
        CHECK(w.proj_bias[7] == 0.0f);
        CHECK(w.table.at(31, 1) == 0.5f);
    }
}

TEST_CASE("rpb::init_weights is seeded, bounded and shaped") {
    const AttentionWeights a = init_weights(16, 4, 13, 42);
    const AttentionWeights b = init_weights(16, 4, 13, 42);
    const AttentionWeights c = init_weights(16, 4, 13, 43);
    CHECK(a.qkv_weight.shape() == Shape{48, 16});
    CHECK(a.proj_weight.shape() == Shape{16, 16});
    CHECK(a.table.shape() == Shape{13, 4});
    CHECK(max_rel_diff(a.qkv_weight, b.qkv_weight) == 0.0);
    CHECK(max_rel_diff(a.table, b.table) == 0.0);
    CHECK(a.qkv_weight[0] != c.qkv_weight[0]);
    for (float v : a.qkv_weight.values()) {
        REQUIRE(std::fabs(v) <= 0.25f);
    }
    double sum_sq = 0.0;
    for (float v : a.table.values()) {
        REQUIRE(std::fabs(v) <= 0.04f);
        sum_sq += double(v) * v;
    }
    // 52 draws of a +-2 std truncated normal: the sample std is near 0.88 * 0.02.
    CHECK(std::sqrt(sum_sq / 52) == doctest::Approx(0.0176).epsilon(0.35));
    CHECK_THROWS_WITH_AS(init_weights(10, 4, 9, 0),
                         "embed dim 10 is not divisible by 4 heads (accepted: a positive "
                         "multiple of 4)",
                         UsageError);
}
