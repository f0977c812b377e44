#include "ink_box.hpp"
#include "rpb/error.hpp"
#include "rpb/image.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <string>

TEST_CASE("rpb::Image fill_rect clips and pixel checks bounds") {
    rpb::Image image(10, 6);
    CHECK(image.pixel(9, 5) == rpb::kWhite);
    image.fill_rect(-3, -3, 5, 5, {1, 2, 3}); // covers (0..1, 0..1)
    image.fill_rect(8, 4, 100, 100, {4, 5, 6});
    image.fill_rect(3, 3, 0, 2, {7, 7, 7}); // empty
    CHECK(image.pixel(0, 0) == rpb::Rgb{1, 2, 3});
    CHECK(image.pixel(1, 1) == rpb::Rgb{1, 2, 3});
    CHECK(image.pixel(2, 1) == rpb::kWhite);
    CHECK(image.pixel(9, 5) == rpb::Rgb{4, 5, 6});
    CHECK(image.pixel(3, 3) == rpb::kWhite);
    CHECK(ink(image).count == 4 + 4);
    CHECK_THROWS_WITH_AS(image.pixel(10, 0), "pixel (10, 0) is outside the 10x6 image", rpb::Error);
    CHECK_THROWS_WITH_AS(rpb::Image(0, 4),
                         "image size 0x4 is not accepted; both sides must be positive", rpb::Error);
    CHECK_THROWS_AS(rpb::Image(100000, 100000), rpb::Error);
}

TEST_CASE("rpb::Image blend mixes a colour in and ignores pixels outside") {
    rpb::Image image(4, 2, {200, 100, 0});
    image.blend(1, 1, {0, 0, 200}, 0.25);
    CHECK(image.pixel(1, 1) == rpb::Rgb{150, 75, 50});
    image.blend(2, 0, {0, 0, 0}, 7.0); // clamped to 1
    CHECK(image.pixel(2, 0) == rpb::Rgb{0, 0, 0});
    image.blend(3, 1, {0, 0, 0}, 0.0);
    CHECK(image.pixel(3, 1) == rpb::Rgb{200, 100, 0});
    image.blend(-1, 0, {0, 0, 0}, 1.0);
    image.blend(4, 1, {0, 0, 0}, 1.0);
    CHECK(image.pixel(0, 0) == rpb::Rgb{200, 100, 0});
    CHECK(image.pixel(3, 0) == rpb::Rgb{200, 100, 0});
}
