// Test helper for drawn images: the bounding box and count of the pixels that are not white.
#pragma once

#include "rpb/image.hpp"

#include <algorithm>

struct InkBox {
    int x0 = 1 << 30;
    int y0 = 1 << 30;
    int x1 = -1;
    int y1 = -1;
    int count = 0;
};

inline InkBox ink(const rpb::Image& image) {
    InkBox box;
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
