#include "rpb/error.hpp"
#include "rpb/index.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

using namespace rpb;

namespace {

nlohmann::json load_golden(const std::string& name) {
    std::ifstream in(std::string(RPB_TEST_DATA_DIR) + "/golden/" + name);
    REQUIRE_MESSAGE(in.good(), "missing golden file " << name);
    return nlohmann::json::parse(in).at("data");
}

void check_map_against_golden(const Scheme& scheme, const std::string& name) {
    const nlohmann::json golden = load_golden(name);
    const IntTensor map = index_map(scheme);
    const IntTensor reference = index_map_reference(scheme);
    REQUIRE(map.dim(0) == static_cast<int64_t>(golden.size()));
    for (int64_t i = 0; i < map.dim(0); ++i) {
        REQUIRE(map.dim(1) == static_cast<int64_t>(golden[i].size()));
        for (int64_t j = 0; j < map.dim(1); ++j) {
            CHECK_MESSAGE(map.at(i, j) == golden[i][j].get<int32_t>(),
                          name << " at " << i << "," << j);
            CHECK(reference.at(i, j) == golden[i][j].get<int32_t>());
        }
    }
}

void check_relative_golden(const T5Params& params, int64_t low, const std::string& name) {
    const nlohmann::json golden = load_golden(name);
    for (size_t k = 0; k < golden.size(); ++k) {
        const int64_t rel = low + static_cast<int64_t>(k);
        CHECK_MESSAGE(t5_bucket(rel, params) == golden[k].get<int32_t>(), name << " rel " << rel);
    }
}

Scheme t5_scheme(int64_t buckets, int64_t distance, bool bidirectional, int64_t q, int64_t k,
                 int64_t offset = 0) {
    Scheme s;
    s.t5 = {buckets, distance, bidirectional};
    s.qlen = q;
    s.klen = k;
    s.offset = offset;
    return s;
}

} // namespace

TEST_CASE("rpb::t5_bucket matches the PyTorch golden buckets") {
    check_relative_golden({32, 128, true}, -200, "t5_b32_d128_bidirectional_rel_-200_200.json");
    check_relative_golden({32, 128, false}, -200, "t5_b32_d128_causal_rel_-200_200.json");
    check_relative_golden({64, 256, true}, -400, "t5_b64_d256_bidirectional_rel_-400_400.json");
}

TEST_CASE("rpb::t5_bucket at the exact float32 boundaries") {
    // 32 buckets / 128 bidirectional: 16 buckets a half, 8 exact. Distances 16, 32, 64 sit
    // exactly on log boundaries; the float32 evaluation keeps them in the upper bucket.
    const T5Params p{32, 128, true};
    CHECK(t5_bucket(-7, p) == 7);
    CHECK(t5_bucket(-8, p) == 8);
    CHECK(t5_bucket(-15, p) == 9);
    CHECK(t5_bucket(-16, p) == 10);
    CHECK(t5_bucket(-31, p) == 11);
    CHECK(t5_bucket(-32, p) == 12);
    CHECK(t5_bucket(-64, p) == 14);
    CHECK(t5_bucket(-127, p) == 15);
    CHECK(t5_bucket(-100000, p) == 15);
    CHECK(t5_bucket(1, p) == 17);
    CHECK(t5_bucket(16, p) == 26);
    CHECK(t5_bucket(0, p) == 0);
}

TEST_CASE("rpb::index_map reproduces the golden maps") {
    check_map_against_golden(t5_scheme(32, 128, true, 10, 10),
                             "t5_b32_d128_bidirectional_q10_k10.json");
    check_map_against_golden(t5_scheme(32, 128, false, 10, 10), "t5_b32_d128_causal_q10_k10.json");
    check_map_against_golden(t5_scheme(32, 128, true, 4, 6, 3),
                             "t5_b32_d128_bidirectional_q4_k6_offset3.json");
    Scheme w1;
    w1.type = SchemeType::window1d;
    w1.window_w = 4;
    check_map_against_golden(w1, "window1d_index_4.json");
    Scheme swin;
    swin.type = SchemeType::window2d;
    swin.window_h = 2;
    swin.window_w = 3;
    check_map_against_golden(swin, "swin_index_2x3.json");
    Scheme beit;
    beit.type = SchemeType::window2d;
    beit.window_h = 2;
    beit.window_w = 2;
    beit.cls_token = true;
    check_map_against_golden(beit, "beit_index_2x2_cls.json");
}

TEST_CASE("rpb::index_map equals rpb::index_map_reference over a sweep of configurations") {
    int checked = 0;
    for (int64_t buckets : {2, 3, 4, 5, 8, 17, 32, 64, 100, 160}) {
        for (bool bidirectional : {true, false}) {
            const int64_t half = bidirectional ? buckets / 2 : buckets;
            const int64_t max_exact = half / 2;
            if (max_exact < 1) {
                continue;
            }
            for (int64_t distance :
                 {max_exact + 1, max_exact + 3, 2 * max_exact, 128L, 1000L, 4096L}) {
                if (distance <= max_exact) {
                    continue;
                }
                for (auto [q, k, offset] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 0},
                                            {1, 300, 0},
                                            {300, 1, 0},
                                            {37, 211, 5},
                                            {128, 128, 0},
                                            {200, 77, 150},
                                            {300, 300, 1000}}) {
                    const Scheme s = t5_scheme(buckets, distance, bidirectional, q, k, offset);
                    const IntTensor fast = index_map(s);
                    const IntTensor slow = index_map_reference(s);
                    REQUIRE(fast.shape() == slow.shape());
                    REQUIRE_MESSAGE(std::equal(fast.values().begin(), fast.values().end(),
                                               slow.values().begin()),
                                    s.describe());
                    ++checked;
                }
            }
        }
    }
    CHECK(checked > 300);
}

TEST_CASE("rpb::Scheme::validate rejects impossible configurations") {
    CHECK_THROWS_WITH_AS(t5_scheme(0, 128, true, 4, 4).validate(),
                         "--num-buckets 0 is out of range: expected an integer from 1 to 1048576",
                         UsageError);
    CHECK_THROWS_WITH_AS(t5_scheme(2, 128, true, 4, 4).validate(),
                         "--num-buckets 2 leaves no exact bucket in each half (bidirectional): "
                         "expected at least 4",
                         UsageError);
    CHECK_NOTHROW(t5_scheme(2, 128, false, 4, 4).validate());
    CHECK_THROWS_WITH_AS(t5_scheme(32, 8, true, 4, 4).validate(),
                         "--max-distance 8 must be above the exact range of --num-buckets 32 "
                         "(expected an integer from 9 to 2147483648)",
                         UsageError);
    CHECK_NOTHROW(t5_scheme(32, 9, true, 4, 4).validate());
    CHECK_THROWS_AS(t5_scheme(32, 128, true, -5, 4).validate(), UsageError);
    Scheme w;
    w.type = SchemeType::window2d;
    w.window_h = 0;
    CHECK_THROWS_WITH_AS(w.validate(),
                         "--window height 0 is out of range: expected an integer from 1 to 4096",
                         UsageError);
}

TEST_CASE("rpb::summarize_entries counts pairs and T5 distance ranges") {
    const auto usage = summarize_entries(t5_scheme(32, 128, true, 10, 10));
    REQUIRE(usage.size() == 32);
    int64_t total = 0;
    for (const auto& u : usage) {
        total += u.pairs;
    }
    CHECK(total == 100);
    CHECK(usage[0].pairs == 10); // the diagonal
    CHECK(usage[0].min_distance == 0);
    CHECK(usage[8].pairs == 3); // distances -8 and -9: 2 + 1 pairs
    CHECK(usage[8].min_distance == -9);
    CHECK(usage[8].max_distance == -8);
    CHECK(usage[24].pairs == 3);
    CHECK(usage[24].min_distance == 8);
    CHECK(usage[24].max_distance == 9);
    CHECK(usage[25].pairs == 0);
    CHECK_FALSE(usage[25].has_distance_range);

    Scheme swin;
    swin.type = SchemeType::window2d;
    swin.window_h = 2;
    swin.window_w = 3;
    const auto swin_usage = summarize_entries(swin);
    REQUIRE(swin_usage.size() == 15);
    CHECK(swin_usage[7].pairs == 6); // offset (0, 0)
    CHECK(swin_usage[0].pairs == 1);
}
