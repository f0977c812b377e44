// Test helper: a PNG decoded by stb_image (Debian's libstb), independently of rpb::Image,
// so that tests check the bytes a user's viewer would see.
#pragma once

#include "rpb/colormap.hpp"

#include <cstddef>
#include <doctest/doctest.h>
#include <stb_image.h>
#include <string>
#include <vector>

struct DecodedPng {
    int width = 0;
    int height = 0;
    std::vector<unsigned char> rgb;

    rpb::Rgb at(int x, int y) const {
        const size_t i = (static_cast<size_t>(y) * static_cast<size_t>(width) + x) * 3;
        return {rgb[i], rgb[i + 1], rgb[i + 2]};
    }
};

inline DecodedPng decode_png(const std::string& png) {
    DecodedPng d;
    int channels = 0;
    unsigned char* p =
        stbi_load_from_memory(reinterpret_cast<const unsigned char*>(png.data()),
                              static_cast<int>(png.size()), &d.width, &d.height, &channels, 3);
    REQUIRE(p != nullptr);
    d.rgb.assign(p, p + static_cast<size_t>(d.width) * d.height * 3);
    stbi_image_free(p);
    return d;
}
