// An 8-bit RGB raster with the few drawing operations the heatmaps need: filled
// rectangles and text in stb_easy_font's built-in bitmap font, scaled by an integer factor.
#pragma once

#include "rpb/colormap.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rpb {

inline constexpr Rgb kWhite{255, 255, 255};

class Image {
public:
    /// A `width` x `height` image filled with `background`. Throws rpb::Error when a side is
    /// not positive or the pixels would take more than `max_bytes`.
    Image(int width, int height, Rgb background = kWhite);

    static constexpr int64_t max_bytes = int64_t{1} << 32;

    int width() const { return width_; }
    int height() const { return height_; }

    /// Pixel (x, y), x rightwards, y downwards from the top-left corner. Throws rpb::Error
    /// when outside the image.
    Rgb pixel(int x, int y) const;

    /// Paints the rectangle [x, x + w) x [y, y + h), clipped to the image (any part of it
    /// may lie outside; nothing happens when w or h is not positive).
    void fill_rect(int64_t x, int64_t y, int64_t w, int64_t h, Rgb colour);

    /// Rows top to bottom, 3 bytes per pixel (R, G, B), stride 3 * width, no padding.
    const uint8_t* data() const { return pixels_.data(); }

private:
    int width_;
    int height_;
    std::vector<uint8_t> pixels_;
};

/// Text reads left to right, or bottom to top (rotated 90 degrees counter-clockwise, for a
/// y-axis label).
enum class TextDirection { right, up };

/// `text` with every code point outside printable ASCII (32-126) replaced by one '?'
/// (a UTF-8 sequence counts once); stb_easy_font indexes a table by character, unchecked.
std::string sanitize_text(std::string_view text);

/// Length in pixels of `text` along its direction at `scale` (after sanitize_text):
/// 6 * scale per character for most glyphs, minus the 2 * scale gap after the last one.
int text_width(std::string_view text, int scale = 1);

/// Extent of a line of text across its direction: 7 * scale for capitals and digits,
/// 9 * scale with descenders (g, p, y). Layout reserves the full 9 * scale.
constexpr int text_height(int scale = 1) {
    return 9 * scale;
}

/// Draws one line of `text` (sanitised; no line breaks) with its bounding box's top-left
/// corner at (x, y): a box of text_width x text_height for TextDirection::right and of
/// text_height x text_width for TextDirection::up. Clipped to the image.
void draw_text(Image& image, int x, int y, std::string_view text, Rgb colour, int scale = 1,
               TextDirection direction = TextDirection::right);

} // namespace rpb
