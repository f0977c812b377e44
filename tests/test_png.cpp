#include "rpb/error.hpp"
#include "rpb/png.hpp"

#include <cstring>
#include <doctest/doctest.h>
#include <stb_image.h>
#include <string>

TEST_CASE("rpb::encode_png round-trips through stb_image") {
    rpb::Image image(37, 11, {10, 20, 30});
    image.fill_rect(5, 2, 7, 3, {200, 0, 100});
    image.fill_rect(36, 10, 1, 1, {1, 2, 3});
    const std::string png = rpb::encode_png(image);
    REQUIRE(png.size() > 8);
    CHECK(std::memcmp(png.data(), "\x89PNG\r\n\x1a\n", 8) == 0);

    int w = 0;
    int h = 0;
    int channels = 0;
    unsigned char* pixels =
        stbi_load_from_memory(reinterpret_cast<const unsigned char*>(png.data()),
                              static_cast<int>(png.size()), &w, &h, &channels, 3);
    REQUIRE(pixels != nullptr);
    CHECK(w == 37);
    CHECK(h == 11);
    CHECK(channels == 3);
    CHECK(std::memcmp(pixels, image.data(), 37 * 11 * 3) == 0);
    const unsigned char* last = pixels + (10 * 37 + 36) * 3;
    CHECK(last[0] == 1);
    CHECK(last[1] == 2);
    CHECK(last[2] == 3);
    const unsigned char* inside = pixels + (3 * 37 + 6) * 3;
    CHECK(inside[0] == 200);
    CHECK(inside[2] == 100);
    stbi_image_free(pixels);
}

TEST_CASE("rpb::check_png_size refuses sizes whose (w*3+1)*h overflows int") {
    CHECK_NOTHROW(rpb::check_png_size(1, 1));
    CHECK_NOTHROW(rpb::check_png_size(16384, 16384));
    // 2^31 - 1 is prime, so the exact boundary is only reachable with h = 1.
    CHECK_NOTHROW(rpb::check_png_size(715827882, 1)); // 3 * w + 1 == 2147483647
    CHECK_THROWS_AS(rpb::check_png_size(715827883, 1), rpb::Error);
    CHECK_NOTHROW(rpb::check_png_size(357913940, 2));               // 2147483642
    CHECK_THROWS_AS(rpb::check_png_size(357913941, 2), rpb::Error); // 2147483648
    CHECK_THROWS_WITH_AS(rpb::check_png_size(30000, 30000),
                         "image of 30000x30000 pixels is too large for png; (width * 3 + 1) "
                         "* height must be at most 2147483647",
                         rpb::Error);
    CHECK_THROWS_AS(rpb::check_png_size(INT64_MAX, INT64_MAX), rpb::Error);
    CHECK_THROWS_WITH_AS(rpb::check_png_size(0, 5),
                         "png size 0x5 is not accepted; both sides must be positive", rpb::Error);
}
