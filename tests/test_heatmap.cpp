#include "colormap_csv.hpp"
#include "decoded_png.hpp"
#include "figure_checks.hpp"
#include "rpb/error.hpp"
#include "rpb/heatmap.hpp"
#include "rpb/png.hpp"

#include <cmath>
#include <doctest/doctest.h>
#include <limits>
#include <string>
#include <utility>
#include <vector>

using rpb::FloatTensor;
using rpb::HeatmapSpec;
using rpb::RenderInfo;
using rpb::Rgb;
using rpb::ValueScale;

namespace {

template <typename F>
FloatTensor matrix(int64_t rows, int64_t cols, F f) {
    FloatTensor t({rows, cols});
    for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < cols; ++j) {
            t.at(i, j) = f(i, j);
        }
    }
    return t;
}

} // namespace

TEST_CASE("rpb::render_heatmap paints ids with viridis over [min, max]") {
    const auto viridis = read_colormap_csv("viridis.csv");
    HeatmapSpec spec;
    spec.title = "bucket, type 1d, window 7";
    spec.scale = ValueScale::ids;
    // i - j + 6: ids 0..12 like a 1d window's relative index.
    spec.panels.push_back(
        {"index", matrix(7, 7, [](int64_t i, int64_t j) { return float(i - j + 6); })});
    RenderInfo info;
    const DecodedPng d = render_decoded(spec, info);
    CHECK(d.width == info.width);
    CHECK(d.height == info.height);
    CHECK(info.reduction == 1);
    CHECK(info.cell_px == 48); // clamp(512 / 7, 1, 48): a 7x7 map is drawn big
    CHECK(info.note.empty());
    CHECK(info.value_min == 0);
    CHECK(info.value_max == 12);
    REQUIRE(info.panels.size() == 1);
    CHECK(info.panels[0].width == 7 * 48);
    CHECK(info.panels[0].height == 7 * 48);
    for (int i = 0; i < 7; ++i) {
        for (int j = 0; j < 7; ++j) {
            CAPTURE(i);
            CAPTURE(j);
            CHECK(cell_pixel(d, info, 0, i, j) == viridis[colormap_entry((i - j + 6) / 12.0)]);
        }
    }
    // The colour bar: top row entry 255, bottom row entry 0, whatever its height.
    const rpb::PixelRect& bar = info.colorbar;
    const int mid = bar.x + bar.width / 2;
    CHECK(d.at(mid, bar.y) == viridis[255]);
    CHECK(d.at(mid, bar.y + bar.height - 1) == viridis[0]);
    CHECK(d.at(bar.x, bar.y) == viridis[255]);
    CHECK(d.at(bar.x + bar.width - 1, bar.y + bar.height - 1) == viridis[0]);
    // White background in the corners.
    CHECK(d.at(0, 0) == Rgb{255, 255, 255});
    CHECK(d.at(d.width - 1, d.height - 1) == Rgb{255, 255, 255});
}

TEST_CASE("rpb::render_heatmap symmetric: centred on zero, one range over all panels") {
    const auto rdbu = read_colormap_csv("RdBu_r.csv");
    HeatmapSpec spec;
    spec.title = "bias";
    spec.scale = ValueScale::symmetric;
    FloatTensor a({3, 4}, 0.0f);
    a.at(0, 0) = -0.02f;
    a.at(0, 1) = 0.01f;
    FloatTensor b({3, 4}, 0.0f);
    b.at(2, 3) = 0.04f; // h = 0.04, from the second panel
    spec.panels = {{"head 0", a}, {"head 1", b}};
    RenderInfo info;
    const DecodedPng d = render_decoded(spec, info);
    CHECK(info.value_min == doctest::Approx(-0.04));
    CHECK(info.value_max == doctest::Approx(0.04));
    CHECK(cell_pixel(d, info, 0, 1, 1) == rdbu[128]);                              // 0: t = 0.5
    CHECK(cell_pixel(d, info, 0, 0, 0) == rdbu[colormap_entry(0.5 - 0.5 * 0.5)]);  // -h/2 -> 64
    CHECK(cell_pixel(d, info, 0, 0, 1) == rdbu[colormap_entry(0.5 + 0.5 * 0.25)]); // +h/4 -> 160
    CHECK(cell_pixel(d, info, 1, 2, 3) == rdbu[255]);
    const rpb::PixelRect& bar = info.colorbar;
    CHECK(d.at(bar.x + bar.width / 2, bar.y) == rdbu[255]);
    CHECK(d.at(bar.x + bar.width / 2, bar.y + bar.height - 1) == rdbu[0]);
}

TEST_CASE("rpb::render_heatmap symmetric all-zero bias paints the centre colour") {
    const auto rdbu = read_colormap_csv("RdBu_r.csv");
    HeatmapSpec spec;
    spec.scale = ValueScale::symmetric;
    spec.panels = {{"head 0", FloatTensor({5, 5}, 0.0f)}};
    RenderInfo info;
    const DecodedPng d = render_decoded(spec, info);
    CHECK(info.value_max == 0);
    for (int i = 0; i < 5; ++i) {
        for (int j = 0; j < 5; ++j) {
            CHECK(cell_pixel(d, info, 0, i, j) == rdbu[128]);
        }
    }
}

TEST_CASE("rpb::render_heatmap draws one panel per head in a grid") {
    const auto magma = read_colormap_csv("magma.csv");
    HeatmapSpec spec;
    spec.scale = ValueScale::linear;
    spec.colormap = &rpb::find_colormap("magma");
    for (int h = 0; h < 12; ++h) {
        spec.panels.push_back({"head " + std::to_string(h), FloatTensor({16, 16}, float(h))});
    }
    RenderInfo info;
    const DecodedPng d = render_decoded(spec, info);
    REQUIRE(info.panels.size() == 12);
    CHECK(info.width <= 4096);
    CHECK(info.height <= 4096);
    for (size_t p = 0; p < 12; ++p) {
        const rpb::PixelRect& r = info.panels[p];
        CHECK(r.x >= 0);
        CHECK(r.y >= 0);
        CHECK(r.x + r.width <= info.width);
        CHECK(r.y + r.height <= info.height);
        for (size_t q = 0; q < p; ++q) {
            const rpb::PixelRect& o = info.panels[q];
            const bool apart = r.x >= o.x + o.width || o.x >= r.x + r.width ||
                               r.y >= o.y + o.height || o.y >= r.y + r.height;
            CHECK(apart);
        }
        CHECK(cell_pixel(d, info, p, 15, 15) ==
              magma[colormap_entry(static_cast<double>(p) / 11.0)]);
    }
    // Reading order: left to right, then the next row.
    CHECK(info.panels[1].x > info.panels[0].x);
    CHECK(info.panels[1].y == info.panels[0].y);
    CHECK(info.panels.back().y > info.panels[0].y);
}

TEST_CASE("rpb::render_heatmap reduces large maps and says so") {
    const auto viridis = read_colormap_csv("viridis.csv");
    HeatmapSpec spec;
    spec.scale = ValueScale::linear;
    const auto f = [](int64_t i, int64_t j) { return float((i * 3 + j) % 7); };
    spec.panels = {{"head 0", matrix(5000, 5000, f)}};
    RenderInfo info;
    const DecodedPng d = render_decoded(spec, info);
    CHECK(info.reduction > 1);
    CHECK(info.note.find("reduced 1:" + std::to_string(info.reduction)) == 0);
    CHECK(info.panels[0].width <= 1024);
    CHECK(info.panels[0].height <= 1024);
    CHECK(info.width <= 4096);
    CHECK(info.height <= 4096);
    CHECK(d.width == info.width);
    // Drawn cell (bi, bj) is the mean of its k x k block; the values span [0, 6].
    const int64_t k = info.reduction;
    for (const auto& [bi, bj] : {std::pair<int, int>{0, 0}, {3, 7}, {100, 41}}) {
        double sum = 0;
        for (int64_t i = bi * k; i < (bi + 1) * k; ++i) {
            for (int64_t j = bj * k; j < (bj + 1) * k; ++j) {
                sum += f(i, j);
            }
        }
        CHECK(cell_pixel(d, info, 0, bi, bj) ==
              viridis[colormap_entry(sum / static_cast<double>(k * k) / 6.0)]);
    }
}

TEST_CASE("rpb::render_heatmap reduced ids take each block's top-left id") {
    const auto viridis = read_colormap_csv("viridis.csv");
    HeatmapSpec spec;
    spec.scale = ValueScale::ids;
    const auto f = [](int64_t i, int64_t j) { return float((i + 2 * j) % 32); };
    spec.panels = {{"bucket", matrix(3000, 2100, f)}};
    RenderInfo info;
    const DecodedPng d = render_decoded(spec, info);
    REQUIRE(info.reduction == 3);
    CHECK(info.note.find("top-left id") != std::string::npos);
    CHECK(info.panels[0].width == 700);
    CHECK(info.panels[0].height == 1000);
    for (const auto& [bi, bj] : {std::pair<int, int>{0, 0}, {1, 1}, {999, 699}, {500, 3}}) {
        CHECK(cell_pixel(d, info, 0, bi, bj) == viridis[colormap_entry(f(bi * 3, bj * 3) / 31.0)]);
    }
}

TEST_CASE("rpb::render_heatmap with a given cell size") {
    HeatmapSpec spec;
    spec.panels = {{"a", FloatTensor({10, 20}, 1.0f)}};
    spec.cell_px = 3;
    RenderInfo info;
    const DecodedPng d = render_decoded(spec, info);
    CHECK(info.cell_px == 3);
    CHECK(info.reduction == 1);
    CHECK(info.panels[0].width == 60);
    CHECK(info.panels[0].height == 30);
    CHECK(d.height == info.height);

    spec.cell_px = 100000; // about 2,000,000 x 1,000,000 pixels: refused before allocating
    CHECK_THROWS_WITH_AS(rpb::render_heatmap(spec), doctest::Contains("too large for png"),
                         rpb::Error);
    spec.cell_px = 1 << 30;
    CHECK_THROWS_WITH_AS(rpb::render_heatmap(spec),
                         "panels of 20 cells of 1073741824 pixels are too large for png; use a "
                         "smaller cell size",
                         rpb::Error);
    spec.cell_px = -1;
    CHECK_THROWS_WITH_AS(rpb::render_heatmap(spec),
                         "cell size -1 is not accepted; give a positive number of pixels, or 0 "
                         "for automatic",
                         rpb::UsageError);
}

TEST_CASE("rpb::render_heatmap rejects what it cannot draw") {
    HeatmapSpec spec;
    CHECK_THROWS_WITH_AS(rpb::render_heatmap(spec),
                         "no panels to draw; give at least one 2-d tensor", rpb::Error);
    spec.panels = {{"head 0", FloatTensor({0, 7})}};
    CHECK_THROWS_WITH_AS(rpb::render_heatmap(spec),
                         "panel 'head 0' is empty (shape (0, 7)); nothing to draw", rpb::Error);
    spec.panels = {{"head 0", FloatTensor({2, 3, 4})}};
    CHECK_THROWS_WITH_AS(rpb::render_heatmap(spec),
                         "panel 'head 0' has shape (2, 3, 4); a panel must be 2-d (rows, cols)",
                         rpb::Error);
    FloatTensor nan({2, 3}, 0.5f);
    nan.at(1, 2) = std::numeric_limits<float>::quiet_NaN();
    spec.panels = {{"head 0", FloatTensor({2, 3})}, {"head 1", nan}};
    CHECK_THROWS_WITH_AS(rpb::render_heatmap(spec),
                         "panel 'head 1' holds nan at (1, 2); only finite values can be drawn",
                         rpb::Error);
    FloatTensor inf({2, 3}, 0.5f);
    inf.at(0, 1) = -std::numeric_limits<float>::infinity();
    spec.panels = {{"head 0", inf}};
    CHECK_THROWS_WITH_AS(rpb::render_heatmap(spec),
                         "panel 'head 0' holds -inf at (0, 1); only finite values can be drawn",
                         rpb::Error);
    spec.panels = {{"head 0", FloatTensor({2, 3})}, {"head 1", FloatTensor({3, 2})}};
    CHECK_THROWS_WITH_AS(rpb::render_heatmap(spec),
                         "panel 'head 1' has shape (3, 2) but panel 'head 0' has (2, 3); all "
                         "panels must share one shape",
                         rpb::Error);
}

TEST_CASE("rpb::render_heatmap draws a single value and non-ASCII titles") {
    HeatmapSpec spec;
    spec.title = "caf\xc3\xa9 \xe2\x86\x92 bias";
    spec.value_label = "bias";
    spec.scale = ValueScale::symmetric;
    spec.panels = {{"", FloatTensor({1, 1}, -2.5f)}};
    RenderInfo info;
    const DecodedPng d = render_decoded(spec, info);
    CHECK(info.cell_px == 48);
    CHECK(info.colorbar.height >= 100); // a bar, not a sliver, even beside one cell
    CHECK(d.width == info.width);
    CHECK(cell_pixel(d, info, 0, 0, 0) == read_colormap_csv("RdBu_r.csv")[0]);
}

TEST_CASE("rpb::heatmap_figure: texts never overlap, stay inside, and are drawn") {
    HeatmapSpec spec;
    spec.title = "bias by offset | a long title with many words that does not fit in one line "
                 "beside a small map, so it wraps | table trunc-normal std 0.02 seed 0 | "
                 "/a/path/without/any/spaces/that/is/longer/than/one/whole/line/of/the/title.npy";
    spec.scale = ValueScale::symmetric;
    spec.value_label = "bias";
    spec.x_label = "dx = query column \xe2\x88\x92 key column";
    spec.y_label = "dy";
    spec.x_first = -6;
    spec.y_first = -6;
    for (int h = 0; h < 5; ++h) {
        spec.panels.push_back(
            {"head " + std::to_string(h), matrix(13, 13, [h](int64_t i, int64_t j) {
                 return float(i - j) * 0.01f * float(h + 1);
             })});
    }
    spec.panels[3].title = "a panel title much wider than its panel";
    spec.cell_px = 8; // small panels: a grid narrower than the title
    RenderInfo info;
    const rpb::Figure fig = rpb::heatmap_figure(spec, &info);
    CHECK(fig.width == info.width);
    CHECK(fig.height == info.height);
    const size_t texts = check_text_layout(fig);
    CHECK(texts > 5 * (1 + 4 + 4)); // titles, ticks of every panel
    CHECK(check_ink(fig) > 0);
    CHECK(check_ink(fig, 2) > 0); // the same layout at twice the resolution
    // The title wrapped into several lines, none wider than the figure.
    size_t title_lines = 0;
    for (const rpb::FigureItem& item : fig.items) {
        title_lines += item.tag == "title";
    }
    CHECK(title_lines >= 2);
    // Tick labels use the minus sign.
    bool minus = false;
    for (const rpb::FigureItem& item : fig.items) {
        if (const auto* t = std::get_if<rpb::Text>(&item.shape)) {
            minus = minus || t->text == "\xe2\x88\x92"
                                        "6";
        }
    }
    CHECK(minus);
}

TEST_CASE("rpb::heatmap_figure thins crowded ticks and tags its panels") {
    HeatmapSpec spec;
    spec.scale = ValueScale::ids;
    spec.x_first = -100000;
    spec.panels = {{"a", matrix(3, 400, [](int64_t, int64_t j) { return float(j); })},
                   {"b", matrix(3, 400, [](int64_t, int64_t j) { return float(j); })}};
    spec.cell_px = 1;
    const rpb::Figure fig = rpb::heatmap_figure(spec);
    check_text_layout(fig);
    check_ink(fig);
    size_t panels = 0;
    for (const rpb::FigureItem& item : fig.items) {
        panels += item.tag == "panel-0" || item.tag == "panel-1";
    }
    CHECK(panels == 2);
}
