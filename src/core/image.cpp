#include "rpb/image.hpp"

#include "rpb/error.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <stb_easy_font.h>

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

std::string sanitize_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 32 && c <= 126) {
            out += ch;
        } else if ((c & 0xC0) != 0x80) {
            // Continuation bytes of a UTF-8 sequence are dropped: one '?' per code point.
            out += '?';
        }
    }
    return out;
}

int text_width(std::string_view text, int scale) {
    std::string clean = sanitize_text(text);
    if (clean.empty()) {
        return 0;
    }
    // Every glyph leaves at least two units free after its ink: that gap is not text.
    return std::max(stb_easy_font_width(clean.data()) - 2, 0) * scale;
}

void draw_text(Image& image, int x, int y, std::string_view text, Rgb colour, int scale,
               TextDirection direction) {
    std::string clean = sanitize_text(text);
    if (clean.empty()) {
        return;
    }
    // stb_easy_font writes 4 vertices of 16 bytes (x, y, z floats + RGBA) per segment and
    // silently truncates when the buffer is short; no glyph has more than 11 segments.
    std::vector<char> buffer(clean.size() * 12 * 64 + 64);
    const int quads = stb_easy_font_print(0.0f, 0.0f, clean.data(), nullptr, buffer.data(),
                                          static_cast<int>(buffer.size()));
    const int64_t width = std::max(stb_easy_font_width(clean.data()) - 2, 0);
    for (int q = 0; q < quads; ++q) {
        // Vertex 0 is the quad's top-left corner and vertex 2 its bottom-right one; all
        // coordinates are whole numbers because the text starts at (0, 0).
        float v0[2];
        float v2[2];
        std::memcpy(v0, buffer.data() + q * 64, sizeof v0);
        std::memcpy(v2, buffer.data() + q * 64 + 32, sizeof v2);
        const auto qx0 = static_cast<int64_t>(v0[0]);
        const auto qy0 = static_cast<int64_t>(v0[1]);
        const auto qx1 = static_cast<int64_t>(v2[0]);
        const auto qy1 = static_cast<int64_t>(v2[1]);
        if (direction == TextDirection::right) {
            image.fill_rect(x + qx0 * scale, y + qy0 * scale, (qx1 - qx0) * scale,
                            (qy1 - qy0) * scale, colour);
        } else {
            // Rotated counter-clockwise: the text's x runs up from the box's bottom edge and
            // its y runs right from the box's left edge.
            image.fill_rect(x + qy0 * scale, y + (width - qx1) * scale, (qy1 - qy0) * scale,
                            (qx1 - qx0) * scale, colour);
        }
    }
}

} // namespace rpb
