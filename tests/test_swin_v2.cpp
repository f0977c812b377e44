#include "rpb/error.hpp"
#include "rpb/index.hpp"
#include "rpb/scheme.hpp"
#include "rpb/swin_v2.hpp"

#include <algorithm>
#include <cmath>
#include <doctest/doctest.h>
#include <vector>

using namespace rpb;

TEST_CASE("rpb::cpb_coords") {
    const FloatTensor c = cpb_coords(8, 8);
    CHECK(c.shape() == Shape{15, 15, 2});
    // corner (dy, dx) = (-7, -7): -8 mapped to -log2(9) / 3
    CHECK(c[0] == doctest::Approx(-std::log2(9.0) / 3));
    CHECK(c[7 * 15 * 2 + 7 * 2] == 0.0f); // the centre
    // a pretrained window of 4 stretches the coordinates: dy = 7 -> 7 / 3 * 8
    const FloatTensor p = cpb_coords(8, 8, 4, 4);
    CHECK(p[(14 * 15 + 14) * 2] == doctest::Approx(std::log2(1 + 56.0 / 3) / 3));
}

TEST_CASE("rpb::cpb_table and its shape checks") {
    CpbMlp mlp{FloatTensor({4, 2}), FloatTensor({4}), FloatTensor({3, 4})};
    const FloatTensor zero = cpb_table(mlp, 2, 3);
    CHECK(zero.shape() == Shape{15, 3});
    CHECK(zero[0] == 8.0f); // 16 * sigmoid(0)
    CpbMlp bad{FloatTensor({4, 3}), FloatTensor({4}), FloatTensor({3, 4})};
    CHECK_THROWS_WITH_AS(check_cpb_mlp(bad, "m"),
                         "m: cpb_mlp.0.weight has shape (4, 3), expected (hidden, 2)", Error);
    CpbMlp bad2{FloatTensor({4, 2}), FloatTensor({4}), FloatTensor({3, 5})};
    CHECK_THROWS_WITH_AS(check_cpb_mlp(bad2, "m"),
                         "m: cpb_mlp.2.weight has shape (3, 5), expected (heads, 4)", Error);
}

TEST_CASE("rpb::swin_v2_probabilities streams batch 0's rows of swin_v2_attention") {
    Scheme scheme;
    scheme.type = SchemeType::window2d;
    scheme.window_h = 3;
    scheme.window_w = 3;
    const EntryIndex index(scheme);
    AttentionWeights w = init_weights(8, 2, index.num_entries(), 11);
    CpbMlp mlp{FloatTensor({4, 2}), FloatTensor({4}), FloatTensor({2, 4})};
    for (int64_t i = 0; i < 8; ++i) {
        mlp.w0[i] = 0.3f * static_cast<float>(i % 5) - 0.6f;
    }
    for (int64_t i = 0; i < 8; ++i) {
        mlp.w2[i] = 0.5f - 0.2f * static_cast<float>(i % 4);
    }
    w.table = cpb_table(mlp, 3, 3);
    FloatTensor x({2, 9, 8});
    for (int64_t i = 0; i < x.size(); ++i) {
        x[i] = std::sin(0.37f * static_cast<float>(i));
    }
    const FloatTensor logit_scale({2}, std::vector<float>{std::log(10.0f), std::log(20.0f)});
    FloatTensor probs;
    swin_v2_attention(x, w, logit_scale, index, {.heads = 2}, &probs);
    std::vector<float> got;
    std::vector<int64_t> order;
    swin_v2_probabilities(x, w, logit_scale, index, {.heads = 2}, {1, 0},
                          [&](int64_t h, int64_t first, int64_t rows, const float* values) {
                              CHECK(rows == 1);
                              order.push_back(h * 100 + first);
                              got.insert(got.end(), values, values + rows * 9);
                          });
    REQUIRE(got.size() == 2 * 81);
    CHECK(order.front() == 100);
    CHECK(order.back() == 8);
    CHECK(std::equal(got.begin(), got.begin() + 81, probs.data() + 81));
    CHECK(std::equal(got.begin() + 81, got.end(), probs.data()));
    CHECK_THROWS_AS(swin_v2_probabilities(x, w, logit_scale, index, {.heads = 2}, {2},
                                          [](int64_t, int64_t, int64_t, const float*) {}),
                    UsageError);
}
