#include "rpb/error.hpp"
#include "rpb/image.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <string>

namespace {

struct Box {
    int x0 = 1 << 30;
    int y0 = 1 << 30;
    int x1 = -1;
    int y1 = -1;
    int count = 0;
};

// The bounding box of the pixels that are not white.
Box ink(const rpb::Image& image) {
    Box box;
    for (int y = 0; y < image.height(); ++y) {
        for (int x = 0; x < image.width(); ++x) {
            if (image.pixel(x, y) != rpb::kWhite) {
                box = {std::min(box.x0, x), std::min(box.y0, y), std::max(box.x1, x),
                       std::max(box.y1, y), box.count + 1};
            }
        }
    }
    return box;
}

} // namespace

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

TEST_CASE("rpb::sanitize_text keeps printable ASCII, one '?' per other code point") {
    CHECK(rpb::sanitize_text("head 0: -0.0412") == "head 0: -0.0412");
    CHECK(rpb::sanitize_text("caf\xc3\xa9\n\t~") == "caf???~");
    CHECK(rpb::sanitize_text("\xe2\x86\x92x") == "?x"); // U+2192, three bytes
    CHECK(rpb::sanitize_text(std::string("a\0b", 3)) == "a?b");
}

TEST_CASE("rpb::draw_text stays inside its box") {
    // stb_easy_font: digits advance 6 units and are 4 wide, so "10" spans 10 units.
    CHECK(rpb::text_width("10") == 10);
    CHECK(rpb::text_width("10", 2) == 20);
    CHECK(rpb::text_width("") == 0);
    CHECK(rpb::text_width("\xc3\xa9") == rpb::text_width("?"));

    rpb::Image right(80, 40);
    rpb::draw_text(right, 5, 7, "Ag", {0, 0, 0}, 2);
    const Box r = ink(right);
    CHECK(r.count > 0);
    CHECK(r.x0 == 5);
    CHECK(r.y0 == 7);
    CHECK(r.x1 < 5 + rpb::text_width("Ag", 2));
    CHECK(r.y1 < 7 + rpb::text_height(2));
    CHECK(right.pixel(r.x0, r.y1) == rpb::kWhite); // 'A' has no descender, 'g' has

    rpb::Image up(40, 80);
    rpb::draw_text(up, 5, 7, "Ag", {0, 0, 0}, 2, rpb::TextDirection::up);
    const Box u = ink(up);
    CHECK(u.count == r.count);
    CHECK(u.x0 == 5);
    CHECK(u.x1 < 5 + rpb::text_height(2));
    CHECK(u.y0 >= 7);
    CHECK(u.y1 == 7 + rpb::text_width("Ag", 2) - 1);

    rpb::Image clipped(12, 12);
    rpb::draw_text(clipped, -4, 3, "WWWWWW", {0, 0, 0}, 3); // partly outside: no crash
    CHECK(ink(clipped).count > 0);
}
