// Test helpers: a PNG decoded by stb_image (Debian's libstb), independently of rpb::Image,
// so that tests check the bytes a user's viewer would see; and probes of rendered heatmaps.
#pragma once

#include "rpb/colormap.hpp"
#include "rpb/heatmap.hpp"
#include "rpb/png.hpp"

#include <algorithm>
#include <cmath>
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

/// The heatmap rendered, encoded and decoded again.
inline DecodedPng render_decoded(const rpb::HeatmapSpec& spec, rpb::RenderInfo& info) {
    return decode_png(rpb::encode_png(rpb::render_heatmap(spec, &info)));
}

/// Centre pixel of drawn cell (i, j) of panel p.
inline rpb::Rgb cell_pixel(const DecodedPng& d, const rpb::RenderInfo& info, size_t p, int i,
                           int j) {
    const rpb::PixelRect& r = info.panels.at(p);
    return d.at(r.x + j * info.cell_px + info.cell_px / 2,
                r.y + i * info.cell_px + info.cell_px / 2);
}

/// matplotlib's colour-map entry for a normalised value, written out here rather than taken
/// from rpb.
inline size_t colormap_entry(double t) {
    return t < 0 ? 0 : std::min<size_t>(static_cast<size_t>(std::floor(t * 256.0)), 255);
}
