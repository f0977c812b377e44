// Text in DejaVu Sans (Debian fonts-dejavu-core), compiled into the binary at build time
// (cmake/embed_file.cmake), measured and drawn with stb_truetype: anti-aliased coverage
// blended onto the image, with the font's kerning. Sizes are em sizes in pixels, as CSS and
// SVG font-size mean them (a size-12 label is 12 px per em).
//
// A line of text is placed by its baseline origin: the pen starts at (x, y) and moves right
// (TextDirection::right) or up (TextDirection::up, rotated 90 degrees counter-clockwise, for
// a y-axis label). Text is UTF-8; every code point the font has is drawn (e.g. U+2212 minus,
// U+00D7 times); others become the font's missing-glyph box, and bytes that are not UTF-8
// become U+FFFD. Control characters are drawn as the missing glyph, never interpreted.
#pragma once

#include "rpb/colormap.hpp"
#include "rpb/image.hpp"

#include <string_view>
#include <vector>

namespace rpb {

/// Text reads left to right, or bottom to top.
enum class TextDirection { right, up };

/// The code points of `text`; a byte that does not start a valid UTF-8 sequence (or an
/// overlong, surrogate or out-of-range one) becomes U+FFFD.
std::vector<char32_t> decode_utf8(std::string_view text);

/// Where a line of text reaches, relative to its pen origin on the baseline, along the text
/// (`x`: 0 at the origin, rightwards) and across it (`y`: downwards from the baseline), in
/// pixels at `size`. `advance` is the pen's travel (with kerning); `top`/`bottom` are the
/// font's ascent (negative) and descent; `ink_*` the union of the glyphs' outlines (what
/// can receive ink, before anti-aliasing rounds it out to whole pixels).
struct TextExtent {
    double advance = 0;
    double top = 0;
    double bottom = 0;
    double ink_left = 0;
    double ink_right = 0;
    double ink_top = 0;
    double ink_bottom = 0;
};

TextExtent measure_text(std::string_view text, double size);

/// measure_text(text, size).advance.
double text_width(std::string_view text, double size);

/// The font's ascent above and descent below the baseline at `size` (both positive).
double font_ascent(double size);
double font_descent(double size);
/// Height of a capital letter or digit above the baseline at `size`.
double cap_height(double size);

/// Draws one line of `text` with its pen origin at (x, y) in pixels (fractional positions
/// are honoured), blending `colour` over what is there. Clipped to the image.
void draw_text(Image& image, double x, double y, std::string_view text, double size, Rgb colour,
               TextDirection direction = TextDirection::right);

} // namespace rpb
