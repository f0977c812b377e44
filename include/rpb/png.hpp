// PNG encoding of an rpb::Image through stb_image_write (8-bit RGB; the only metadata is an
// optional pHYs chunk giving the resolution, for print).
#pragma once

#include "rpb/image.hpp"

#include <cstdint>
#include <string>

namespace rpb {

/// Throws rpb::Error unless a `width` x `height` RGB image can be encoded: stb_image_write
/// computes the filtered size (width * 3 + 1) * height in an int, so that product must be at
/// most 2147483647 (e.g. 16384 x 16384 passes, 30000 x 30000 does not).
void check_png_size(int64_t width, int64_t height);

/// The PNG file bytes of `image` (8-bit RGB, filter type 0 on every row; this sets stb's
/// process-wide stbi_write_force_png_filter to 0 on first use). Throws rpb::Error when
/// check_png_size refuses its size or the encoder fails (out of memory). With `dpi` > 0 a
/// pHYs chunk says the image has that many pixels per inch (stored per metre, rounded), so
/// that viewers and LaTeX give it its printed size.
std::string encode_png(const Image& image, double dpi = 0);

} // namespace rpb
