#include "colormap_csv.hpp"
#include "rpb/colormap.hpp"
#include "rpb/error.hpp"

#include <cmath>
#include <doctest/doctest.h>
#include <limits>
#include <string>
#include <utility>

using rpb::colormap_index;
using rpb::find_colormap;
using rpb::Rgb;

TEST_CASE("rpb::colormap_index follows matplotlib's rule") {
    CHECK(colormap_index(0.0) == 0);
    CHECK(colormap_index(0.5) == 128);
    CHECK(colormap_index(1.0) == 255);
    CHECK(colormap_index(1.0 / 256.0) == 1);
    CHECK(colormap_index(std::nextafter(1.0 / 256.0, 0.0)) == 0);
    CHECK(colormap_index(255.0 / 256.0) == 255);
    CHECK(colormap_index(std::nextafter(255.0 / 256.0, 0.0)) == 254);
    CHECK(colormap_index(std::nextafter(1.0, 0.0)) == 255);
    CHECK(colormap_index(-0.001) == 0);
    CHECK(colormap_index(-1e300) == 0);
    CHECK(colormap_index(1.001) == 255);
    CHECK(colormap_index(1e300) == 255);
    CHECK(colormap_index(std::numeric_limits<double>::infinity()) == 255);
    CHECK(colormap_index(std::numeric_limits<double>::quiet_NaN()) == 0);
}

TEST_CASE("rpb::find_colormap entries equal the reference CSVs") {
    const std::pair<const char*, const char*> maps[] = {
        {"viridis", "viridis.csv"},
        {"magma", "magma.csv"},
        {"rdbu", "RdBu_r.csv"},
        {"coolwarm", "coolwarm.csv"},
    };
    for (const auto& [name, file] : maps) {
        CAPTURE(name);
        const auto expected = read_colormap_csv(file);
        const rpb::Colormap& cmap = find_colormap(name);
        CHECK(cmap.name() == name);
        int mismatches = 0;
        for (int i = 0; i < 256; ++i) {
            mismatches += cmap.entry(i) == expected[static_cast<size_t>(i)] ? 0 : 1;
        }
        CHECK(mismatches == 0);
    }
    // Worked by hand from the CSV rows: viridis row 0 is 0.267004, 0.004874, 0.329415
    // -> (68, 1, 84); RdBu_r's last row 0.403922, 0, 0.121569 -> (103, 0, 31).
    CHECK(find_colormap("viridis").entry(0) == Rgb{68, 1, 84});
    CHECK(find_colormap("viridis").entry(255) == Rgb{253, 231, 37});
    CHECK(find_colormap("rdbu").entry(255) == Rgb{103, 0, 31});
    CHECK(find_colormap("rdbu").entry(0) == Rgb{5, 48, 97});
}

TEST_CASE("rpb::find_colormap gray, aliases and lookup by value") {
    const rpb::Colormap& gray = find_colormap("gray");
    for (int i = 0; i < 256; ++i) {
        const auto v = static_cast<uint8_t>(i);
        CHECK(gray.entry(i) == Rgb{v, v, v});
    }
    CHECK(gray.entry(-5) == Rgb{0, 0, 0});
    CHECK(gray.entry(300) == Rgb{255, 255, 255});
    CHECK(gray(0.5) == Rgb{128, 128, 128});
    CHECK(gray(1.0) == Rgb{255, 255, 255});
    CHECK(&find_colormap("RdBu_r") == &find_colormap("rdbu"));
    CHECK(&find_colormap("Viridis") == &find_colormap("viridis"));
}

TEST_CASE("rpb::find_colormap rejects unknown names") {
    CHECK_THROWS_WITH_AS(find_colormap("jet"),
                         "unknown colour map 'jet'; accepted: viridis, magma, rdbu, coolwarm, gray",
                         rpb::UsageError);
    CHECK_THROWS_AS(find_colormap(""), rpb::UsageError);
    CHECK(rpb::colormap_names().size() == 5);
}
