#include "ink_box.hpp"
#include "rpb/figure.hpp"
#include "rpb/font.hpp"

#include <algorithm>
#include <cmath>
#include <doctest/doctest.h>
#include <string>

TEST_CASE("rpb::decode_utf8 decodes and replaces what is not UTF-8") {
    using V = std::vector<char32_t>;
    CHECK(rpb::decode_utf8("a\xc3\x97"
                           "b") == V{'a', 0xD7, 'b'}); // U+00D7
    CHECK(rpb::decode_utf8("\xe2\x88\x92"
                           "1") == V{0x2212, '1'}); // minus sign
    CHECK(rpb::decode_utf8("\xf0\x9f\x98\x80") == V{0x1F600});
    CHECK(rpb::decode_utf8("\xff"
                           "a") == V{0xFFFD, 'a'});                       // not a lead byte
    CHECK(rpb::decode_utf8("\xc3") == V{0xFFFD});                         // cut short
    CHECK(rpb::decode_utf8("\xc0\xaf") == V{0xFFFD, 0xFFFD});             // overlong
    CHECK(rpb::decode_utf8("\xed\xa0\x80") == V{0xFFFD, 0xFFFD, 0xFFFD}); // surrogate
    CHECK(rpb::decode_utf8(std::string("a\0b", 3)) == V{'a', 0, 'b'});
}

TEST_CASE("rpb::measure_text uses DejaVu Sans's metrics, kerned") {
    // DejaVu Sans: 2048 units per em, ascent 1901, descent 483, digits advance 1303.
    CHECK(rpb::font_ascent(2048) == doctest::Approx(1901));
    CHECK(rpb::font_descent(2048) == doctest::Approx(483));
    CHECK(rpb::text_width("0", 2048) == doctest::Approx(1303));
    CHECK(rpb::text_width("10", 10) == doctest::Approx(2 * 1303 * 10 / 2048.0));
    CHECK(rpb::text_width("", 12) == 0);
    // Kerning pulls "AV" closer than its letters' advances.
    CHECK(rpb::text_width("AV", 12) < rpb::text_width("A", 12) + rpb::text_width("V", 12));
    // The minus sign is a glyph of its own, as wide as a digit; a code point the font lacks
    // is its missing glyph, as wide as any other missing one.
    CHECK(rpb::text_width("\xe2\x88\x92", 12) == doctest::Approx(rpb::text_width("+", 12)));
    CHECK(rpb::text_width("\xf4\x8f\xbf\xbd", 12) == rpb::text_width("\xef\xbf\xbe", 12));
    CHECK(rpb::text_width("\xf4\x8f\xbf\xbd", 12) > 0); // U+10FFFD, U+FFFE: not in the font
    const rpb::TextExtent e = rpb::measure_text("Ag", 20);
    CHECK(e.ink_top < 0);
    CHECK(e.ink_bottom > 0); // the g's descender
    CHECK(e.ink_right <= e.advance + 1);
}

TEST_CASE("rpb::draw_text puts anti-aliased ink inside its box, either direction") {
    for (const auto dir : {rpb::TextDirection::right, rpb::TextDirection::up}) {
        CAPTURE(static_cast<int>(dir));
        rpb::Image image(120, 120);
        const rpb::Text t{"Ag\xc3\x97\xe2\x88\x92"
                          "1",
                          40,
                          80,
                          16,
                          rpb::Anchor::start,
                          dir,
                          {0, 0, 0}};
        rpb::draw_text(image, t.x, t.y, t.text, t.size, t.colour, dir);
        const InkBox got = ink(image);
        const rpb::Box box = rpb::text_box(t);
        REQUIRE(got.count > 0);
        CHECK(got.x0 >= static_cast<int>(std::floor(box.x0)));
        CHECK(got.y0 >= static_cast<int>(std::floor(box.y0)));
        CHECK(got.x1 < static_cast<int>(std::ceil(box.x1)));
        CHECK(got.y1 < static_cast<int>(std::ceil(box.y1)));
        // Grey edge pixels: coverage is blended, not thresholded.
        bool grey = false;
        for (int y = 0; y < image.height() && !grey; ++y) {
            for (int x = 0; x < image.width(); ++x) {
                const rpb::Rgb p = image.pixel(x, y);
                grey = grey || (p.r > 40 && p.r < 215);
            }
        }
        CHECK(grey);
    }
    // Far outside the image, or any bytes at all: no crash, nothing drawn where it cannot be.
    rpb::Image small(8, 8);
    rpb::draw_text(small, -500, 4, "WWWWWW", 30, {0, 0, 0});
    rpb::draw_text(small, 2, 6, std::string("\x01\xff\xc3", 3), 6, {0, 0, 0});
    rpb::draw_text(small, 2, 1e9, "x", 6, {0, 0, 0}, rpb::TextDirection::up);
    CHECK(small.width() == 8);
}
