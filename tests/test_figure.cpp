#include "decoded_png.hpp"
#include "rpb/error.hpp"
#include "rpb/figure.hpp"

#include <doctest/doctest.h>
#include <string>

namespace {

size_t count(const std::string& haystack, const std::string& needle) {
    size_t n = 0;
    for (size_t at = haystack.find(needle); at != std::string::npos;
         at = haystack.find(needle, at + 1)) {
        ++n;
    }
    return n;
}

rpb::Figure sample() {
    rpb::Figure fig;
    fig.width = 40;
    fig.height = 30;
    fig.rect({2, 3, 12, 8}, {255, 0, 0}, "red");
    rpb::CellImage cells{20, 4, 3, 2, 2, 3, {}};
    for (int k = 0; k < 6; ++k) {
        cells.cells.push_back({0, static_cast<uint8_t>(40 * k), 0});
    }
    fig.cells(cells, "panel-0");
    fig.line({{2, 25}, {38, 25}}, 2, {0, 0, 255});
    fig.text(
        rpb::Text{"a<b & \"c\"", 20, 20, 8, rpb::Anchor::middle, rpb::TextDirection::right, {}},
        "label");
    return fig;
}

} // namespace

TEST_CASE("rpb::rasterize paints rectangles and cells on whole pixels, at any scale") {
    const rpb::Figure fig = sample();
    const rpb::Image one = rpb::rasterize(fig);
    CHECK(one.width() == 40);
    CHECK(one.height() == 30);
    CHECK(one.pixel(2, 3) == rpb::Rgb{255, 0, 0});
    CHECK(one.pixel(11, 7) == rpb::Rgb{255, 0, 0});
    CHECK(one.pixel(12, 7) == rpb::kWhite);
    CHECK(one.pixel(1, 3) == rpb::kWhite);
    // Cell (1, 2) spans x 26..29, y 6..8.
    CHECK(one.pixel(26, 6) == rpb::Rgb{0, 200, 0});
    CHECK(one.pixel(28, 7) == rpb::Rgb{0, 200, 0});
    CHECK(one.pixel(25, 6) == rpb::Rgb{0, 160, 0});
    // The line: full colour on its axis, nothing two units away.
    CHECK(one.pixel(20, 24) == rpb::Rgb{0, 0, 255});
    CHECK(one.pixel(20, 27) == rpb::kWhite);

    const rpb::Image two = rpb::rasterize(fig, 2.5);
    CHECK(two.width() == 100);
    CHECK(two.height() == 75);
    CHECK(two.pixel(5, 8) == rpb::Rgb{255, 0, 0}); // round(2 * 2.5), round(3 * 2.5)
    CHECK(two.pixel(4, 8) == rpb::kWhite);
    CHECK(two.pixel(65, 15) == rpb::Rgb{0, 200, 0}); // cell (1, 2) from (65, 15)
    CHECK(two.pixel(64, 15) == rpb::Rgb{0, 160, 0});
    CHECK_THROWS_AS(rpb::rasterize(fig, 0), rpb::Error);
    CHECK_THROWS_WITH_AS(rpb::rasterize(fig, 2000), doctest::Contains("too large for png"),
                         rpb::Error);
}

TEST_CASE("rpb::text_box follows the anchor and the rotation") {
    const rpb::Text t{"12", 100, 50, 10, rpb::Anchor::end, rpb::TextDirection::right, {}};
    const rpb::Box b = rpb::text_box(t);
    CHECK(b.x1 == doctest::Approx(100));
    CHECK(b.width() == doctest::Approx(rpb::text_width("12", 10)));
    CHECK(b.y0 == doctest::Approx(50 - rpb::font_ascent(10)));
    CHECK(b.y1 == doctest::Approx(50 + rpb::font_descent(10)));
    rpb::Text up = t;
    up.direction = rpb::TextDirection::up;
    up.anchor = rpb::Anchor::middle;
    const rpb::Box u = rpb::text_box(up);
    CHECK(u.height() == doctest::Approx(b.width()));
    CHECK((u.y0 + u.y1) / 2 == doctest::Approx(50));
    CHECK(u.x0 == doctest::Approx(100 - rpb::font_ascent(10)));
    CHECK(!b.overlaps(rpb::Box{b.x1, b.y0, b.x1 + 5, b.y1})); // touching is not overlapping
    CHECK(b.overlaps(rpb::Box{b.x1 - 1, b.y0, b.x1 + 5, b.y1}));
}

TEST_CASE("rpb::write_svg: SVG 1.1 of the same size, text escaped, tags as classes") {
    const rpb::Figure fig = sample();
    const std::string svg = rpb::write_svg(fig);
    CHECK(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 0) == 0);
    CHECK(svg.find("xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
    CHECK(svg.find("version=\"1.1\" width=\"40\" height=\"30\" viewBox=\"0 0 40 30\"") !=
          std::string::npos);
    CHECK(svg.find("font-family=\"'DejaVu Sans', sans-serif\"") != std::string::npos);
    CHECK(svg.find(">a&lt;b &amp; &quot;c&quot;</text>") != std::string::npos);
    CHECK(svg.find("text-anchor=\"middle\"") != std::string::npos);
    CHECK(svg.find("<g class=\"panel-0\" shape-rendering=\"crispEdges\">") != std::string::npos);
    // Background + the red rect + 6 cells (no two neighbours share a colour).
    CHECK(count(svg, "<rect ") == 1 + 1 + 6);
    CHECK(count(svg, "<polyline ") == 1);
    CHECK(svg.substr(svg.size() - 7) == "</svg>\n");

    // Scaled: the pixel size outside, the figure units inside one transform.
    const std::string big = rpb::write_svg(fig, 2);
    CHECK(big.find("width=\"80\" height=\"60\" viewBox=\"0 0 80 60\"") != std::string::npos);
    CHECK(big.find("transform=\"scale(2)\"") != std::string::npos);
}

TEST_CASE("rpb::write_svg embeds a large cell image as one pixelated PNG") {
    rpb::Figure fig;
    fig.width = 200;
    fig.height = 200;
    rpb::CellImage cells{0, 0, 2, 2, 100, 100, {}};
    for (int k = 0; k < 100 * 100; ++k) {
        cells.cells.push_back({static_cast<uint8_t>(k % 256), 0, 0});
    }
    fig.cells(cells, "panel-0");
    const std::string svg = rpb::write_svg(fig);
    CHECK(count(svg, "<rect ") == 1); // the background only
    CHECK(count(svg, "<image ") == 1);
    CHECK(svg.find("image-rendering=\"optimizeSpeed\" style=\"image-rendering:pixelated\"") !=
          std::string::npos);
    const std::string prefix = "xlink:href=\"data:image/png;base64,";
    const size_t at = svg.find(prefix);
    REQUIRE(at != std::string::npos);
    // The embedded PNG starts with the PNG signature, base64 "iVBORw0KGgo".
    CHECK(svg.compare(at + prefix.size(), 11, "iVBORw0KGgo") == 0);
}
