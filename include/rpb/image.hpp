// An 8-bit RGB raster with the few drawing operations the figure rasteriser needs: filled
// rectangles and blending one pixel (text is drawn by rpb/font.hpp, figures by
// rpb/figure.hpp).
#pragma once

#include "rpb/colormap.hpp"

#include <cstdint>
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

    /// Mixes `colour` into pixel (x, y) with weight `alpha` in [0, 1] (clamped); nothing
    /// happens outside the image.
    void blend(int64_t x, int64_t y, Rgb colour, double alpha);

    /// Rows top to bottom, 3 bytes per pixel (R, G, B), stride 3 * width, no padding.
    const uint8_t* data() const { return pixels_.data(); }

private:
    int width_;
    int height_;
    std::vector<uint8_t> pixels_;
};

} // namespace rpb
