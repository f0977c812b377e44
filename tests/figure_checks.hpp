// Test helpers for laid-out figures: the text boxes never overlap and stay inside the
// figure; in the decoded PNG, ink lies inside some item's box and every text shows ink.
#pragma once

#include "decoded_png.hpp"
#include "rpb/figure.hpp"

#include <cmath>
#include <doctest/doctest.h>
#include <string>
#include <vector>

inline std::vector<rpb::Box> text_boxes(const rpb::Figure& fig) {
    std::vector<rpb::Box> boxes;
    for (const rpb::FigureItem& item : fig.items) {
        if (const auto* t = std::get_if<rpb::Text>(&item.shape)) {
            boxes.push_back(rpb::text_box(*t));
        }
    }
    return boxes;
}

inline std::string describe(const rpb::Figure& fig, size_t text_index) {
    size_t k = 0;
    for (const rpb::FigureItem& item : fig.items) {
        if (const auto* t = std::get_if<rpb::Text>(&item.shape)) {
            if (k++ == text_index) {
                return t->text;
            }
        }
    }
    return "";
}

/// No two text boxes overlap; every one lies inside the figure. Returns the number of texts.
inline size_t check_text_layout(const rpb::Figure& fig) {
    const std::vector<rpb::Box> boxes = text_boxes(fig);
    const rpb::Box page{0, 0, fig.width, fig.height};
    for (size_t i = 0; i < boxes.size(); ++i) {
        CAPTURE(describe(fig, i));
        CHECK(page.contains(boxes[i]));
        for (size_t j = 0; j < i; ++j) {
            CAPTURE(describe(fig, j));
            CHECK(!boxes[i].overlaps(boxes[j]));
        }
    }
    return boxes.size();
}

/// The figure rasterised at `scale`, encoded and decoded: every pixel that is not the
/// background lies in some item's box (rounded out to whole pixels), and every text's box
/// holds ink. Returns the number of ink pixels.
inline int64_t check_ink(const rpb::Figure& fig, double scale = 1) {
    const DecodedPng d = decode_png(rpb::encode_png(rpb::rasterize(fig, scale)));
    std::vector<unsigned char> covered(static_cast<size_t>(d.width) * d.height, 0);
    const auto clamp_px = [](double v, int hi) {
        return std::max(0, std::min(hi, static_cast<int>(v)));
    };
    std::vector<rpb::Box> texts;
    for (const rpb::FigureItem& item : fig.items) {
        const rpb::Box b = rpb::item_box(item.shape);
        const int x0 = clamp_px(std::floor(b.x0 * scale) - 1, d.width);
        const int x1 = clamp_px(std::ceil(b.x1 * scale) + 1, d.width);
        const int y0 = clamp_px(std::floor(b.y0 * scale) - 1, d.height);
        const int y1 = clamp_px(std::ceil(b.y1 * scale) + 1, d.height);
        for (int y = y0; y < y1; ++y) {
            for (int x = x0; x < x1; ++x) {
                covered[static_cast<size_t>(y) * d.width + x] = 1;
            }
        }
        if (std::holds_alternative<rpb::Text>(item.shape)) {
            texts.push_back(b);
        }
    }
    int64_t ink = 0;
    int64_t stray = 0;
    for (int y = 0; y < d.height; ++y) {
        for (int x = 0; x < d.width; ++x) {
            if (d.at(x, y) != fig.background) {
                ++ink;
                stray += covered[static_cast<size_t>(y) * d.width + x] == 0;
            }
        }
    }
    CHECK(stray == 0);
    for (size_t i = 0; i < texts.size(); ++i) {
        const rpb::Box& b = texts[i];
        int64_t in_box = 0;
        for (int y = clamp_px(std::floor(b.y0 * scale), d.height);
             y < clamp_px(std::ceil(b.y1 * scale), d.height); ++y) {
            for (int x = clamp_px(std::floor(b.x0 * scale), d.width);
                 x < clamp_px(std::ceil(b.x1 * scale), d.width); ++x) {
                in_box += d.at(x, y) != fig.background;
            }
        }
        CAPTURE(describe(fig, i));
        CHECK(in_box > 0);
    }
    return ink;
}
