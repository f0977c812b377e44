#include "colormap_csv.hpp"
#include "decoded_png.hpp"
#include "figure_checks.hpp"
#include "rpb/bias.hpp"
#include "rpb/error.hpp"
#include "rpb/heatmap.hpp"
#include "rpb/index.hpp"
#include "rpb/npy.hpp"
#include "rpb/png.hpp"
#include "rpb/table.hpp"
#include "rpb/visualize.hpp"
#include "test_schemes.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <doctest/doctest.h>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>
#include <vector>

using rpb::Array;
using rpb::BiasView;
using rpb::DType;
using rpb::FloatTensor;
using rpb::HeatmapSpec;
using rpb::RenderInfo;
using rpb::Rgb;
using rpb::Scheme;
using rpb::SchemeType;
using rpb::ValueScale;

namespace {

nlohmann::json golden(const std::string& name) {
    std::ifstream in(std::string(RPB_TEST_DATA_DIR) + "/golden/" + name);
    REQUIRE_MESSAGE(in.good(), "missing golden file " << name);
    return nlohmann::json::parse(in)["data"];
}

// table[e, h] = (e + 1) * (h % 2 ? -1 : 1) / 1000 + h / 10: distinct, signed.
FloatTensor distinct_table(int64_t entries, int64_t heads) {
    FloatTensor t({entries, heads});
    for (int64_t e = 0; e < entries; ++e) {
        for (int64_t h = 0; h < heads; ++h) {
            t.at(e, h) = static_cast<float>(static_cast<double>(e + 1) * (h % 2 ? -1 : 1) / 1000.0 +
                                            static_cast<double>(h) / 10.0);
        }
    }
    return t;
}

template <typename T>
Array make_array(DType dtype, rpb::Shape shape, const std::vector<T>& values) {
    Array a;
    a.dtype = dtype;
    a.shape = std::move(shape);
    a.bytes.resize(values.size() * sizeof(T));
    if (!values.empty()) { // memcpy from an empty vector's null data() is undefined
        std::memcpy(a.bytes.data(), values.data(), a.bytes.size());
    }
    return a;
}

} // namespace

TEST_CASE("rpb::bucket_heatmap draws the index map as ids, one panel") {
    const HeatmapSpec spec = rpb::bucket_heatmap(window2d_scheme(2, 3));
    CHECK(spec.scale == ValueScale::ids);
    CHECK(spec.title == "bucket map | 2d window 2x3 (15 entries)");
    CHECK(spec.x_label == "key");
    CHECK(spec.y_label == "query");
    REQUIRE(spec.panels.size() == 1);
    const nlohmann::json map = golden("swin_index_2x3.json");
    const FloatTensor& v = spec.panels[0].values;
    REQUIRE(v.shape() == rpb::Shape{6, 6});
    for (int64_t i = 0; i < 6; ++i) {
        for (int64_t j = 0; j < 6; ++j) {
            CHECK(v.at(i, j) == map[i][j].get<float>());
        }
    }
}

TEST_CASE("rpb::bucket_heatmap t5 4096 x 4096 stays within the size bound") {
    RenderInfo info;
    const HeatmapSpec spec = rpb::bucket_heatmap(t5_scheme(4096));
    const DecodedPng d = render_decoded(spec, info);
    CHECK(d.width <= 4096);
    CHECK(d.height <= 4096);
    CHECK(info.panels.at(0).width <= 1024);
    CHECK(info.reduction == 4); // 4096 values into at most 1024 pixels, one per cell
    CHECK(info.note == "reduced 1:4, each cell the top-left id of a 4\u00d74 block; colour bar: "
                       "range of all ids");
    // Sampled ids: drawn cell (0, 1) is map (0, 4), bucket 20 of the golden map; viridis
    // over [0, 31].
    const auto viridis = read_colormap_csv("viridis.csv");
    const nlohmann::json map = golden("t5_b32_d128_bidirectional_q10_k10.json");
    CHECK(cell_pixel(d, info, 0, 0, 1) == viridis[colormap_entry(map[0][4].get<double>() / 31.0)]);
    CHECK(cell_pixel(d, info, 0, 1, 0) == viridis[colormap_entry(map[4][0].get<double>() / 31.0)]);
}

TEST_CASE("rpb::bias_heatmap matrix: a panel per head, pixels are the RdBu_r entries") {
    const auto rdbu = read_colormap_csv("RdBu_r.csv");
    const Scheme scheme = window2d_scheme(2, 3);
    const FloatTensor table = distinct_table(15, 3);
    const HeatmapSpec spec =
        rpb::bias_heatmap(scheme, table, BiasView::matrix, std::nullopt, "table test");
    CHECK(spec.scale == ValueScale::symmetric);
    CHECK(spec.title == "bias | 2d window 2x3 (15 entries) | table test");
    REQUIRE(spec.panels.size() == 3);
    CHECK(spec.panels[2].title == "head 2");
    const nlohmann::json map = golden("swin_index_2x3.json");
    RenderInfo info;
    const DecodedPng d = render_decoded(spec, info);
    CHECK(info.panels.size() == 3);
    double h = 0; // max |v| over all heads: one shared range
    for (const float v : table.values()) {
        h = std::max(h, std::fabs(static_cast<double>(v)));
    }
    CHECK(info.value_max == doctest::Approx(h));
    for (int p = 0; p < 3; ++p) {
        for (int i = 0; i < 6; ++i) {
            for (int j = 0; j < 6; ++j) {
                const float v = table.at(map[i][j].get<int64_t>(), p);
                CHECK(spec.panels[static_cast<size_t>(p)].values.at(i, j) == v);
                CHECK(cell_pixel(d, info, static_cast<size_t>(p), i, j) ==
                      rdbu[colormap_entry(0.5 + 0.5 * static_cast<double>(v) / h)]);
            }
        }
    }
    // The colour bar runs from the last entry (top) to the first (bottom).
    const rpb::PixelRect& bar = info.colorbar;
    CHECK(d.at(bar.x + bar.width / 2, bar.y) == rdbu[255]);
    CHECK(d.at(bar.x + bar.width / 2, bar.y + bar.height - 1) == rdbu[0]);
}

TEST_CASE("rpb::bias_heatmap table view: offsets query - key centred on (0, 0)") {
    const Scheme scheme = window2d_scheme(2, 3);
    const FloatTensor table = distinct_table(15, 2);
    const HeatmapSpec tv = rpb::bias_heatmap(scheme, table, BiasView::table, std::nullopt, "t");
    const HeatmapSpec mv = rpb::bias_heatmap(scheme, table, BiasView::matrix, std::nullopt, "t");
    CHECK(tv.x_first == -2);
    CHECK(tv.y_first == -1);
    CHECK(tv.y_label == "dy = query row - key row");
    REQUIRE(tv.panels.size() == 2);
    for (size_t p = 0; p < 2; ++p) {
        const FloatTensor& t = tv.panels[p].values;
        REQUIRE(t.shape() == rpb::Shape{3, 5});
        for (int64_t e = 0; e < 15; ++e) {
            CHECK(t[e] == table.at(e, static_cast<int64_t>(p)));
        }
        // Every (query, key) pair of the matrix reads the table cell at its offset.
        for (int64_t i = 0; i < 6; ++i) {
            for (int64_t j = 0; j < 6; ++j) {
                const int64_t dy = i / 3 - j / 3;
                const int64_t dx = i % 3 - j % 3;
                CHECK(t.at(dy + 1, dx + 2) == mv.panels[p].values.at(i, j));
            }
        }
    }
}

TEST_CASE("rpb::bias_heatmap table view with a class token draws the spatial part") {
    const FloatTensor table = distinct_table(15 + 3, 2);
    const HeatmapSpec spec =
        rpb::bias_heatmap(window2d_scheme(2, 3, true), table, BiasView::table, int64_t{1}, "t");
    CHECK(spec.title == "bias table by offset | 2d window 2x3 + class token (18 entries), "
                        "spatial entries only | t");
    REQUIRE(spec.panels.size() == 1);
    CHECK(spec.panels[0].title == "head 1");
    CHECK(spec.panels[0].values.shape() == rpb::Shape{3, 5});
    CHECK(spec.panels[0].values[14] == table.at(14, 1));
}

TEST_CASE("rpb::bias_heatmap a zero table paints the centre colour") {
    const auto rdbu = read_colormap_csv("RdBu_r.csv");
    const FloatTensor table = rpb::init_table(169, 3, rpb::TableInit::zeros, 0.02f, 0);
    RenderInfo info;
    const DecodedPng d = render_decoded(
        rpb::bias_heatmap(window2d_scheme(7, 7), table, BiasView::table, std::nullopt, "zeros"),
        info);
    REQUIRE(info.panels.size() == 3);
    CHECK(info.cell_px >= 24); // a 13 x 13 table is drawn large enough to read
    for (size_t p = 0; p < 3; ++p) {
        for (int i = 0; i < 13; i += 4) {
            for (int j = 0; j < 13; j += 3) {
                CHECK(cell_pixel(d, info, p, i, j) == rdbu[128]);
            }
        }
    }
}

TEST_CASE("rpb::bias_heatmap strip view: one row per head, key - query for t5") {
    const Scheme scheme = t5_scheme(10);
    const FloatTensor table = distinct_table(32, 4);
    const HeatmapSpec spec = rpb::bias_heatmap(scheme, table, BiasView::strip, std::nullopt, "t");
    REQUIRE(spec.panels.size() == 1);
    CHECK(spec.x_label == "key \xe2\x88\x92 query");
    CHECK(spec.x_first == -9);
    CHECK(spec.y_first == 0);
    const FloatTensor& v = spec.panels[0].values;
    REQUIRE(v.shape() == rpb::Shape{4, 19});
    // Golden row 0 gives the buckets of key - query = 0..9, column 0 those of 0..-9.
    const nlohmann::json map = golden("t5_b32_d128_bidirectional_q10_k10.json");
    for (int64_t h = 0; h < 4; ++h) {
        for (int64_t d = 0; d < 10; ++d) {
            CHECK(v.at(h, 9 + d) == table.at(map[0][d].get<int64_t>(), h));
            CHECK(v.at(h, 9 - d) == table.at(map[d][0].get<int64_t>(), h));
        }
    }
    // One head: y ticks start at its number.
    const HeatmapSpec one = rpb::bias_heatmap(scheme, table, BiasView::strip, int64_t{2}, "t");
    CHECK(one.y_first == 2);
    CHECK(one.panels[0].values.shape() == rpb::Shape{1, 19});

    // 1d: query - key, entry e at e - (W - 1).
    Scheme w1;
    w1.type = SchemeType::window1d;
    w1.window_w = 4;
    const HeatmapSpec s1 =
        rpb::bias_heatmap(w1, distinct_table(7, 2), BiasView::strip, std::nullopt, "t");
    CHECK(s1.x_label == "query \xe2\x88\x92 key");
    CHECK(s1.x_first == -3);
    CHECK(s1.panels[0].values.at(1, 6) == distinct_table(7, 2).at(6, 1));
    CHECK_THROWS_AS(rpb::bias_heatmap(scheme, table, BiasView::distance, std::nullopt, "t"),
                    rpb::Error);
}

TEST_CASE("rpb::bias_distance_plot: a line per head, the bias at every distance") {
    const Scheme scheme = t5_scheme(10);
    const FloatTensor table = distinct_table(32, 4);
    const rpb::LineFigure fig = rpb::bias_distance_plot(scheme, table, std::nullopt, "t");
    CHECK(fig.title.rfind("bias by distance | ", 0) == 0);
    REQUIRE(fig.panels.size() == 1);
    const rpb::LinePlot& plot = fig.panels[0];
    CHECK(plot.x_label == "key \xe2\x88\x92 query");
    CHECK(plot.y_label == "bias");
    REQUIRE(plot.series.size() == 4);
    CHECK(plot.series[3].name == "head 3");
    const nlohmann::json map = golden("t5_b32_d128_bidirectional_q10_k10.json");
    for (const rpb::LineSeries& s : plot.series) {
        REQUIRE(s.points.size() == 19);
        CHECK(s.points.front().first == -9);
        CHECK(s.points.back().first == 9);
    }
    for (int64_t d = 0; d < 10; ++d) {
        // key - query = d is row 0, column d of the bucket map; -d is row d, column 0.
        CHECK(plot.series[1].points[static_cast<size_t>(9 + d)].second ==
              table.at(map[0][d].get<int64_t>(), 1));
        CHECK(plot.series[1].points[static_cast<size_t>(9 - d)].second ==
              table.at(map[d][0].get<int64_t>(), 1));
    }
    const rpb::LineFigure one = rpb::bias_distance_plot(scheme, table, int64_t{2}, "t");
    REQUIRE(one.panels[0].series.size() == 1);
    CHECK(one.panels[0].series[0].name == "head 2");
    CHECK_THROWS_WITH_AS(
        rpb::bias_distance_plot(window2d_scheme(7, 7), distinct_table(169, 3), std::nullopt, "t"),
        "--view distance applies to --type t5 or 1d, not --type 2d: expected table or matrix",
        rpb::UsageError);
    CHECK_THROWS_AS(rpb::bias_distance_plot(scheme, table, int64_t{4}, "t"), rpb::UsageError);

    // Laid out: a legend entry per head, no text overlapping another.
    const rpb::Figure laid = rpb::line_plots_figure(fig);
    check_text_layout(laid);
    check_ink(laid);
    size_t series = 0;
    for (const rpb::FigureItem& item : laid.items) {
        series += item.tag.rfind("series-0-", 0) == 0;
    }
    CHECK(series == 4);
}

TEST_CASE("rpb::bias_heatmap rejects views, heads and tables that do not fit") {
    const FloatTensor table = distinct_table(169, 3);
    CHECK_THROWS_WITH_AS(
        rpb::bias_heatmap(window2d_scheme(7, 7), table, BiasView::matrix, int64_t{3}, "t"),
        "--head 3 is out of range: expected all or an integer from 0 to 2", rpb::UsageError);
    CHECK_THROWS_WITH_AS(
        rpb::bias_heatmap(window2d_scheme(7, 7), table, BiasView::strip, std::nullopt, "t"),
        "--view strip applies to --type t5 or 1d, not --type 2d: expected table or matrix",
        rpb::UsageError);
    CHECK_THROWS_WITH_AS(
        rpb::bias_heatmap(t5_scheme(8), distinct_table(32, 2), BiasView::table, std::nullopt, "t"),
        "--view table applies to --type 2d, not --type t5: expected matrix or distance",
        rpb::UsageError);
    CHECK_THROWS_WITH_AS(rpb::bias_heatmap(window2d_scheme(7, 7), distinct_table(32, 2),
                                           BiasView::table, std::nullopt, "t"),
                         "table of shape (32, 2) does not fit 2d window 7x7 (169 entries): "
                         "expected (169, heads)",
                         rpb::Error);
    CHECK_THROWS_WITH_AS(rpb::parse_bias_view("heads"),
                         "--view heads: unknown view: expected matrix, table, distance or strip",
                         rpb::UsageError);
    CHECK(rpb::default_bias_view(window2d_scheme(7, 7)) == BiasView::table);
    CHECK(rpb::default_bias_view(t5_scheme(8)) == BiasView::matrix);
}

TEST_CASE("rpb::attention_heatmap of streamed rows: any row pieces, checked order, reduced") {
    // Two heads of 1500 x 1500: reduced for the default bounds (1024 pixels a panel), the same
    // cells whatever pieces the rows come in.
    const int64_t n = 1500;
    FloatTensor probs({1, 2, n, n});
    for (int64_t i = 0; i < probs.size(); ++i) {
        probs[i] = static_cast<float>((i * 7919) % 1000) / 1000.0f;
    }
    const HeatmapSpec whole = rpb::attention_heatmap(probs, std::nullopt, "attn");
    const rpb::ProbabilitySource pieces = [&](const std::vector<int64_t>& heads,
                                              const rpb::ProbabilityRows& sink) {
        for (const int64_t h : heads) {
            for (int64_t r = 0; r < n; r += 7) {
                sink(h, r, std::min<int64_t>(7, n - r), probs.data() + (h * n + r) * n);
            }
        }
    };
    const HeatmapSpec streamed =
        rpb::attention_heatmap(pieces, 2, n, n, std::nullopt, "attn", {}, nullptr, nullptr);
    REQUIRE(streamed.panels.size() == 2);
    CHECK(streamed.reduced.has_value());
    const auto a = streamed.panels[1].values.values();
    const auto b = whole.panels[1].values.values();
    CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
    const rpb::ProbabilitySource wrong = [&](const std::vector<int64_t>&,
                                             const rpb::ProbabilityRows& sink) {
        sink(0, 0, 1, probs.data());
        sink(0, 2, 1, probs.data());
    };
    CHECK_THROWS_WITH_AS(rpb::attention_heatmap(wrong, 2, n, n, std::nullopt, "attn"),
                         "attention probabilities: rows [2, 3) of head 0 arrived out of order",
                         rpb::Error);
}

TEST_CASE("rpb::attention_heatmap draws batch 0, a panel per head, linear scale") {
    FloatTensor probs({2, 3, 2, 2});
    for (int64_t i = 0; i < probs.size(); ++i) {
        probs[i] = static_cast<float>(i) / 100.0f;
    }
    const HeatmapSpec spec = rpb::attention_heatmap(probs, std::nullopt, "attn");
    CHECK(spec.scale == ValueScale::linear);
    CHECK(spec.value_label == "probability");
    REQUIRE(spec.panels.size() == 3);
    CHECK(spec.panels[1].values.at(1, 0) == probs[1 * 4 + 2]);
    CHECK(spec.panels[2].values.at(1, 1) == probs[11]); // batch 0 ends at flat index 11
    CHECK_THROWS_WITH_AS(rpb::attention_heatmap(probs, int64_t{-1}, "attn"),
                         "--head -1 is out of range: expected all or an integer from 0 to 2",
                         rpb::UsageError);
}

TEST_CASE("rpb::array_heatmap picks panels and scale from rank and dtype") {
    // int32 (2, 2, 3): ids, a panel per leading index.
    const Array ids =
        make_array<int32_t>(DType::i32, {2, 2, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
    HeatmapSpec spec = rpb::array_heatmap(ids, std::nullopt, "ids.npy");
    CHECK(spec.scale == ValueScale::ids);
    CHECK(spec.title == "ids.npy: int32 (2, 2, 3)");
    REQUIRE(spec.panels.size() == 2);
    CHECK(spec.panels[1].title == "head 1");
    CHECK(spec.panels[1].values.at(1, 2) == 11.0f);

    // float32 2-d with a negative value: symmetric, one panel.
    const Array bias = make_array<float>(DType::f32, {2, 2}, {0.5f, -0.25f, 0.f, 1.f});
    spec = rpb::array_heatmap(bias, std::nullopt, "standard input");
    CHECK(spec.scale == ValueScale::symmetric);
    REQUIRE(spec.panels.size() == 1);
    CHECK(spec.panels[0].title == "2 x 2");
    CHECK_THROWS_WITH_AS(rpb::array_heatmap(bias, int64_t{1}, "x"),
                         "--head 1 is out of range: there is one panel: expected all or 0",
                         rpb::UsageError);

    // float64 4-d non-negative: attention probabilities of batch 0, linear.
    std::vector<double> p(2 * 2 * 2 * 2);
    for (size_t i = 0; i < p.size(); ++i) {
        p[i] = static_cast<double>(i) / 16.0;
    }
    spec = rpb::array_heatmap(make_array<double>(DType::f64, {2, 2, 2, 2}, p), int64_t{1}, "p");
    CHECK(spec.scale == ValueScale::linear);
    CHECK(spec.value_label == "probability");
    CHECK(spec.title == "p: float64 (2, 2, 2, 2), batch 0");
    REQUIRE(spec.panels.size() == 1);
    CHECK(spec.panels[0].title == "head 1");
    CHECK(spec.panels[0].values.at(0, 0) == 4.0f / 16.0f);
}

TEST_CASE("rpb::array_heatmap rejects other ranks, empty arrays and NaN") {
    CHECK_THROWS_WITH_AS(
        rpb::array_heatmap(make_array<float>(DType::f32, {1, 1, 1, 1, 2}, {1.f, 2.f}), std::nullopt,
                           "x.npy"),
        "x.npy: array of shape (1, 1, 1, 1, 2) has 5 dimensions; expected 2 (one panel), 3 (a "
        "panel per head) or 4 (attention probabilities, batch 0 drawn)",
        rpb::Error);
    CHECK_THROWS_WITH_AS(
        rpb::array_heatmap(make_array<float>(DType::f32, {3}, {1.f, 2.f, 3.f}), std::nullopt, "v"),
        "v: array of shape (3,) has 1 dimension; expected 2 (one panel), 3 (a panel per head) "
        "or 4 (attention probabilities, batch 0 drawn)",
        rpb::Error);
    CHECK_THROWS_WITH_AS(
        rpb::array_heatmap(make_array<float>(DType::f32, {0, 4}, {}), std::nullopt, "e.npy"),
        "e.npy: array of shape (0, 4) is empty; nothing to draw", rpb::Error);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH_AS(
        rpb::array_heatmap(make_array<float>(DType::f32, {2, 2}, {0.f, 1.f, nan, 2.f}),
                           std::nullopt, "n.npy"),
        "n.npy: element (1, 0) is nan (values must be finite)", rpb::Error);
}

namespace {

// The reference reduction of a whole (rows, cols) panel: block means, the last blocks partial.
float reference_mean(const float* v, int64_t rows, int64_t cols, int64_t k, int64_t bi,
                     int64_t bj) {
    double sum = 0;
    const int64_t i1 = std::min((bi + 1) * k, rows);
    const int64_t j1 = std::min((bj + 1) * k, cols);
    for (int64_t i = bi * k; i < i1; ++i) {
        for (int64_t j = bj * k; j < j1; ++j) {
            sum += v[i * cols + j];
        }
    }
    return static_cast<float>(sum / static_cast<double>((i1 - bi * k) * (j1 - bj * k)));
}

} // namespace

TEST_CASE("rpb::bias_heatmap reduces a large bias as it streams, as the whole tensor would be") {
    // A 70 x 70 t5 bias of 3 heads into panels of at most 16 pixels: 1:5, 14 x 14 cells.
    const Scheme scheme = t5_scheme(70);
    const FloatTensor table = distinct_table(32, 3);
    const rpb::DrawSize small{0, 16, 4096};
    const HeatmapSpec spec =
        rpb::bias_heatmap(scheme, table, BiasView::matrix, std::nullopt, "t", small);
    REQUIRE(spec.reduced.has_value());
    const int64_t k = spec.reduced->k;
    CHECK(k == 5);
    const FloatTensor whole = rpb::bias_tensor(scheme, table); // (3, 70, 70)
    double h = 0;
    for (const float v : whole.values()) {
        h = std::max(h, std::fabs(static_cast<double>(v)));
    }
    for (int64_t p = 0; p < 3; ++p) {
        const FloatTensor& cells = spec.panels[static_cast<size_t>(p)].values;
        REQUIRE(cells.shape() == rpb::Shape{14, 14});
        for (int64_t bi = 0; bi < 14; ++bi) {
            for (int64_t bj = 0; bj < 14; ++bj) {
                CHECK(cells.at(bi, bj) ==
                      reference_mean(whole.data() + p * 4900, 70, 70, k, bi, bj));
            }
        }
    }
    RenderInfo info;
    (void)rpb::render_heatmap(spec, &info);
    CHECK(info.reduction == 5);
    CHECK(info.value_max == doctest::Approx(h)); // the raw values' range, not the means'
    // 101 is not a multiple of the reduction: the last block is partial.
    const HeatmapSpec odd =
        rpb::bias_heatmap(t5_scheme(101), table, BiasView::matrix, int64_t{1}, "t", small);
    REQUIRE(odd.reduced.has_value());
    const int64_t ko = odd.reduced->k;
    const int64_t n = (101 + ko - 1) / ko;
    REQUIRE(101 % ko != 0);
    const FloatTensor whole_odd = rpb::bias_tensor(t5_scheme(101), table);
    CHECK(odd.panels[0].values.at(n - 1, n - 1) ==
          reference_mean(whole_odd.data() + 101 * 101, 101, 101, ko, n - 1, n - 1));
    CHECK(odd.panels[0].values.at(0, n - 1) ==
          reference_mean(whole_odd.data() + 101 * 101, 101, 101, ko, 0, n - 1));
}

TEST_CASE("rpb::bucket_heatmap samples the top-left ids of a reduced map") {
    const rpb::DrawSize small{0, 10, 4096};
    const HeatmapSpec spec = rpb::bucket_heatmap(t5_scheme(45), small);
    REQUIRE(spec.reduced.has_value());
    const int64_t k = spec.reduced->k;
    CHECK(k == 5);
    const rpb::IntTensor map = rpb::index_map(t5_scheme(45));
    for (int64_t bi = 0; bi < 9; ++bi) {
        for (int64_t bj = 0; bj < 9; ++bj) {
            CHECK(spec.panels[0].values.at(bi, bj) == static_cast<float>(map.at(bi * k, bj * k)));
        }
    }
    // The bar spans every id of the map, not only those sampled.
    CHECK(spec.reduced->max == *std::max_element(map.values().begin(), map.values().end()));
    CHECK(spec.reduced->min == 0);
}

TEST_CASE("rpb::array_heatmap streamed from a file equals the in-memory array") {
    // A (2, 3, 40, 30) float array: batch 0's three heads, reduced 1:4 with partial blocks.
    FloatTensor values({2, 3, 40, 30});
    for (int64_t i = 0; i < values.size(); ++i) {
        values[i] = static_cast<float>((i * 7919) % 1000) / 1000.0f;
    }
    const std::string bytes = rpb::npy_bytes(values);
    Array array;
    array.dtype = DType::f32;
    array.shape = values.shape();
    array.bytes.resize(static_cast<size_t>(values.size()) * 4);
    std::memcpy(array.bytes.data(), values.data(), array.bytes.size());
    const rpb::DrawSize small{0, 10, 4096};
    const HeatmapSpec mem = rpb::array_heatmap(array, std::nullopt, "a.npy", small);
    REQUIRE(mem.reduced.has_value());
    CHECK(mem.reduced->k == 4);
    CHECK(mem.scale == ValueScale::linear);
    CHECK(mem.value_label == "probability");
    for (int64_t p = 0; p < 3; ++p) {
        CHECK(mem.panels[static_cast<size_t>(p)].values.at(9, 7) ==
              reference_mean(values.data() + p * 1200, 40, 30, 4, 9, 7)); // 4 x 2 block
    }
    const std::string tmp = "/tmp/rpb_test_visualize_stream_" + std::to_string(::getpid()) + ".npy";
    { std::ofstream(tmp, std::ios::binary) << bytes; }
    rpb::NpyStream input(tmp);
    const HeatmapSpec streamed = rpb::array_heatmap(input, std::nullopt, small);
    std::remove(tmp.c_str());
    CHECK(streamed.title == tmp + ": float32 (2, 3, 40, 30), batch 0");
    // The same picture as the in-memory array named alike.
    CHECK(
        rpb::encode_png(rpb::render_heatmap(streamed)) ==
        rpb::encode_png(rpb::render_heatmap(rpb::array_heatmap(array, std::nullopt, tmp, small))));
    for (size_t p = 0; p < 3; ++p) {
        CHECK(streamed.panels[p].values.values().size() == mem.panels[p].values.values().size());
        for (size_t c = 0; c < mem.panels[p].values.values().size(); ++c) {
            CHECK(streamed.panels[p].values.values()[c] == mem.panels[p].values.values()[c]);
        }
    }
    // A NaN in batch 1, which is not drawn, is still an error.
    values[values.size() - 1] = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(array.bytes.data(), values.data(), array.bytes.size());
    CHECK_THROWS_WITH_AS(rpb::array_heatmap(array, std::nullopt, "a.npy", small),
                         "a.npy: element (1, 2, 39, 29) is nan (values must be finite)",
                         rpb::Error);
}
