#include "rpb/image.hpp"

#include "rpb/error.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace rpb {

Image::Image(int width, int height, Rgb background) : width_(width), height_(height) {
    if (width <= 0 || height <= 0) {
        throw Error(fmt::format("image size {}x{} is not accepted; both sides must be positive",
                                width, height));
    }
    const int64_t bytes = int64_t{width} * height * 3;
    if (bytes > max_bytes) {
        throw Error(fmt::format("image of {}x{} pixels is too large; at most {} bytes of pixels",
                                width, height, max_bytes));
    }
    pixels_.resize(static_cast<size_t>(bytes));
    for (size_t i = 0; i < pixels_.size(); i += 3) {
        pixels_[i] = background.r;
        pixels_[i + 1] = background.g;
        pixels_[i + 2] = background.b;
    }
}

Rgb Image::pixel(int x, int y) const {
    if (x < 0 || y < 0 || x >= width_ || y >= height_) {
        throw Error(
            fmt::format("pixel ({}, {}) is outside the {}x{} image", x, y, width_, height_));
    }
    const size_t at = (static_cast<size_t>(y) * static_cast<size_t>(width_) + x) * 3;
    return {pixels_[at], pixels_[at + 1], pixels_[at + 2]};
}

void Image::fill_rect(int64_t x, int64_t y, int64_t w, int64_t h, Rgb colour) {
    const int64_t x0 = std::max<int64_t>(x, 0);
    const int64_t y0 = std::max<int64_t>(y, 0);
    const int64_t x1 = std::min<int64_t>(x + w, width_);
    const int64_t y1 = std::min<int64_t>(y + h, height_);
    if (w <= 0 || h <= 0 || x0 >= x1 || y0 >= y1) {
        return;
    }
    for (int64_t row = y0; row < y1; ++row) {
        uint8_t* p = pixels_.data() + (row * width_ + x0) * 3;
        for (int64_t col = x0; col < x1; ++col, p += 3) {
            p[0] = colour.r;
            p[1] = colour.g;
            p[2] = colour.b;
        }
    }
}

void Image::blend(int64_t x, int64_t y, Rgb colour, double alpha) {
    if (x < 0 || y < 0 || x >= width_ || y >= height_ || !(alpha > 0)) {
        return;
    }
    const double a = std::min(alpha, 1.0);
    uint8_t* p = pixels_.data() + (y * width_ + x) * 3;
    const auto mix = [a](uint8_t b, uint8_t c) {
        return static_cast<uint8_t>(std::lround(b + (c - b) * a));
    };
    p[0] = mix(p[0], colour.r);
    p[1] = mix(p[1], colour.g);
    p[2] = mix(p[2], colour.b);
}

} // namespace rpb
