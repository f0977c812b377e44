// The bias source against the golden index maps (made with the reference implementations)
// and against the cell-by-cell reference, over many configurations.
#include "rpb/bias.hpp"
#include "rpb/error.hpp"
#include "rpb/random.hpp"
#include "test_schemes.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

nlohmann::json golden(const std::string& name) {
    std::ifstream file(std::string(RPB_TEST_DATA_DIR) + "/golden/" + name + ".json");
    REQUIRE(file.good());
    return nlohmann::json::parse(file)["data"];
}

// table(e, h) = e + 1000 h: every bias value names the entry and head it came from.
rpb::FloatTensor coded_table(int64_t entries, int64_t heads) {
    rpb::FloatTensor table({entries, heads});
    for (int64_t e = 0; e < entries; ++e) {
        for (int64_t h = 0; h < heads; ++h) {
            table.at(e, h) = static_cast<float>(e + 1000 * h);
        }
    }
    return table;
}

rpb::FloatTensor random_table(const rpb::Scheme& scheme, int64_t heads, uint64_t seed) {
    return rpb::FloatTensor({scheme.num_entries(), heads},
                            rpb::normal_values(seed, scheme.num_entries() * heads, 1.0F));
}

rpb::Scheme t5(int64_t q, int64_t k, int64_t offset = 0, bool causal = false, int64_t buckets = 32,
               int64_t max_distance = 128) {
    rpb::Scheme s;
    s.type = rpb::SchemeType::t5;
    s.qlen = q;
    s.klen = k;
    s.offset = offset;
    s.t5.bidirectional = !causal;
    s.t5.num_buckets = buckets;
    s.t5.max_distance = max_distance;
    return s;
}

rpb::Scheme window1d(int64_t w) {
    rpb::Scheme s;
    s.type = rpb::SchemeType::window1d;
    s.window_w = w;
    return s;
}

// Every (row, i, j) of the streamed bias equals coded_table[map(i, j), row % heads].
void check_against_map(const rpb::Scheme& scheme, const nlohmann::json& map,
                       std::optional<int64_t> batch) {
    const int64_t heads = 3;
    const auto bias = rpb::bias_tensor(scheme, coded_table(scheme.num_entries(), heads), batch);
    const int64_t q = static_cast<int64_t>(map.size());
    const int64_t k = static_cast<int64_t>(map[0].size());
    REQUIRE(bias.shape() == rpb::Shape{heads * batch.value_or(1), q, k});
    int64_t mismatches = 0;
    for (int64_t row = 0; row < bias.dim(0); ++row) {
        for (int64_t i = 0; i < q; ++i) {
            for (int64_t j = 0; j < k; ++j) {
                const auto entry = map[static_cast<size_t>(i)][static_cast<size_t>(j)].get<int>();
                const auto want = static_cast<float>(entry + 1000 * (row % heads));
                mismatches += bias[(row * q + i) * k + j] != want;
            }
        }
    }
    CHECK(mismatches == 0);
}

} // namespace

TEST_CASE("rpb::bias_source matches the golden index maps") {
    for (std::optional<int64_t> batch : {std::optional<int64_t>{}, std::optional<int64_t>{2}}) {
        CAPTURE(batch.value_or(0));
        check_against_map(t5(10, 10), golden("t5_b32_d128_bidirectional_q10_k10"), batch);
        check_against_map(t5(10, 10, 0, true), golden("t5_b32_d128_causal_q10_k10"), batch);
        check_against_map(t5(4, 6, 3), golden("t5_b32_d128_bidirectional_q4_k6_offset3"), batch);
        check_against_map(window1d(4), golden("window1d_index_4"), batch);
        check_against_map(window2d_scheme(2, 3), golden("swin_index_2x3"), batch);
        check_against_map(window2d_scheme(2, 2, true), golden("beit_index_2x2_cls"), batch);
    }
}

TEST_CASE("rpb::bias_source matches the golden T5 buckets of distances") {
    struct Case {
        const char* name;
        int64_t max_rel;
        bool causal;
        int64_t buckets;
        int64_t max_distance;
    };
    for (const Case& c : {Case{"t5_b32_d128_bidirectional_rel_-200_200", 200, false, 32, 128},
                          Case{"t5_b32_d128_causal_rel_-200_200", 200, true, 32, 128},
                          Case{"t5_b64_d256_bidirectional_rel_-400_400", 400, false, 64, 256}}) {
        CAPTURE(c.name);
        const nlohmann::json buckets = golden(c.name); // buckets[m] for key - query = m - max_rel
        // All distances in one query row, through the offset ...
        nlohmann::json one_row = nlohmann::json::array({buckets});
        check_against_map(t5(1, 2 * c.max_rel + 1, c.max_rel, c.causal, c.buckets, c.max_distance),
                          one_row, std::nullopt);
        // ... and as the diagonals of a square map.
        const int64_t n = c.max_rel + 1;
        nlohmann::json square = nlohmann::json::array();
        for (int64_t i = 0; i < n; ++i) {
            nlohmann::json row = nlohmann::json::array();
            for (int64_t j = 0; j < n; ++j) {
                row.push_back(buckets[static_cast<size_t>(j - i + c.max_rel)]);
            }
            square.push_back(row);
        }
        check_against_map(t5(n, n, 0, c.causal, c.buckets, c.max_distance), square, 2);
    }
}

TEST_CASE("rpb::bias_source equals rpb::bias_reference") {
    std::vector<rpb::Scheme> schemes{t5(1, 1),
                                     t5(7, 3),
                                     t5(3, 19, 5),
                                     t5(64, 64, 0, true),
                                     t5(33, 200, 1000),
                                     t5(200, 33, 0, true),
                                     t5(50, 50, 7, false, 64, 256),
                                     t5(40, 40, 0, false, 8, 9),
                                     window1d(1),
                                     window1d(9),
                                     window2d_scheme(1, 1),
                                     window2d_scheme(7, 7),
                                     window2d_scheme(2, 5),
                                     window2d_scheme(5, 2, true),
                                     window2d_scheme(3, 3, true),
                                     window2d_scheme(1, 4, true)};
    uint64_t seed = 1;
    for (const rpb::Scheme& scheme : schemes) {
        for (int64_t heads : {1, 3}) {
            for (std::optional<int64_t> batch :
                 {std::optional<int64_t>{}, std::optional<int64_t>{3}}) {
                CAPTURE(scheme.describe());
                CAPTURE(heads);
                CAPTURE(batch.value_or(0));
                const auto table = random_table(scheme, heads, seed++);
                auto reference = rpb::bias_reference(scheme, table, batch);
                CHECK(rpb::bias_tensor(scheme, table, batch).storage() == reference.storage());
                // Odd-sized calls that straddle heads and batches give the same bytes.
                const auto source = rpb::bias_source(scheme, table, batch);
                const int64_t rows = source.shape[0] * source.shape[1];
                const int64_t k = source.shape[2];
                std::vector<float> pieces(static_cast<size_t>(rows * k));
                for (int64_t first = 0, step = 1; first < rows; first += step, step += 2) {
                    step = std::min(step, rows - first);
                    source.fill(first, step, pieces.data() + first * k);
                }
                CHECK(pieces == reference.storage());
            }
        }
    }
}

TEST_CASE("rpb::bias_source splits large fills across threads without changing bytes") {
    const rpb::Scheme scheme = t5(300, 500, 20, true);
    const auto table = random_table(scheme, 12, 99);
    auto reference = rpb::bias_reference(scheme, table, 3);
    const auto source = rpb::bias_source(scheme, table, 3);
    std::vector<float> out(reference.storage().size());
    source.fill(0, 7, out.data());
    source.fill(7, 3 * 12 * 300 - 7, out.data() + 7 * 500); // 21.6 MB in one call: two threads
    CHECK(out == reference.storage());
}

TEST_CASE("rpb::bias_source owns its data and reports progress") {
    std::vector<std::pair<int64_t, int64_t>> calls;
    rpb::RowSource<float> source;
    {
        const rpb::Scheme scheme = window2d_scheme(2, 2);
        source =
            rpb::bias_source(scheme, coded_table(9, 2), std::nullopt,
                             [&](int64_t done, int64_t total) { calls.emplace_back(done, total); });
    }
    CHECK(source.shape == rpb::Shape{2, 4, 4});
    std::vector<float> out(32);
    source.fill(0, 3, out.data());
    source.fill(3, 5, out.data() + 12);
    CHECK(calls == std::vector<std::pair<int64_t, int64_t>>{{3, 8}, {8, 8}});
    // Head 1, query token 3 = (1, 1), key token 0 = (0, 0): entry (1+1)*3 + (1+1) = 8.
    CHECK(out[(1 * 4 + 3) * 4 + 0] == 1008.0F);
    CHECK_THROWS_AS(source.fill(7, 2, out.data()), rpb::Error);
}

TEST_CASE("rpb::bias_shape") {
    CHECK(rpb::bias_shape(t5(5, 7), 12, std::nullopt) == rpb::Shape{12, 5, 7});
    CHECK(rpb::bias_shape(t5(5, 7), 12, 4) == rpb::Shape{48, 5, 7});
    CHECK(rpb::bias_shape(window2d_scheme(7, 7, true), 3, 1) == rpb::Shape{3, 50, 50});
    CHECK_THROWS_WITH_AS(rpb::bias_shape(t5(5, 7), 12, 0),
                         "invalid --batch 0: expected a number >= 1", rpb::UsageError);
    CHECK_THROWS_AS(rpb::bias_shape(t5(1 << 30, 1 << 30), 1 << 30, 1 << 30), rpb::UsageError);
}

TEST_CASE("rpb::bias_source rejects a table that does not fit the scheme") {
    CHECK_THROWS_AS(rpb::bias_source(t5(4, 4), coded_table(31, 2)), rpb::Error);
    CHECK_THROWS_AS(rpb::bias_reference(window2d_scheme(2, 2), coded_table(12, 2)), rpb::Error);
    CHECK_THROWS_AS(rpb::bias_source(t5(4, 4), rpb::FloatTensor({32})), rpb::Error);
    CHECK_THROWS_AS(rpb::bias_source(t5(4, 4), coded_table(32, 2), 0), rpb::UsageError);
}
