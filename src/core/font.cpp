#include "rpb/font.hpp"

#include <algorithm>
#include <cmath>
#include <stb_truetype.h>

// The implementation of stb_truetype is not compiled here: Debian's libstb (pkg-config stb)
// already holds it, and a second copy would clash at link time (formats.md).

// The font's bytes, generated at build time from DejaVuSans.ttf (CMakeLists.txt).
extern const unsigned char rpb_dejavu_sans[];

namespace rpb {

namespace {

struct Font {
    stbtt_fontinfo info{};
    double units_per_em = 2048;
    double ascent = 0; // font units
    double descent = 0;
    double cap = 0;

    Font() {
        stbtt_InitFont(&info, rpb_dejavu_sans, stbtt_GetFontOffsetForIndex(rpb_dejavu_sans, 0));
        units_per_em = 1.0 / stbtt_ScaleForMappingEmToPixels(&info, 1.0f);
        int a = 0, d = 0, gap = 0;
        stbtt_GetFontVMetrics(&info, &a, &d, &gap);
        ascent = a;
        descent = -d;
        int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
        stbtt_GetCodepointBox(&info, 'H', &x0, &y0, &x1, &y1);
        cap = y1;
    }

    double scale(double size) const { return size / units_per_em; }
};

const Font& font() {
    static const Font f;
    return f;
}

struct Glyph {
    int index = 0;
    double pen = 0; // font units from the origin
};

// Glyph indices and pen positions in font units, kerned.
std::vector<Glyph> layout_glyphs(const Font& f, std::string_view text, double& advance) {
    std::vector<Glyph> glyphs;
    double pen = 0;
    int previous = -1;
    for (const char32_t c : decode_utf8(text)) {
        // Control characters would be the font's empty glyphs: show them as missing.
        const int index =
            c < 0x20 || c == 0x7f ? 0 : stbtt_FindGlyphIndex(&f.info, static_cast<int>(c));
        if (previous >= 0) {
            pen += stbtt_GetGlyphKernAdvance(&f.info, previous, index);
        }
        glyphs.push_back({index, pen});
        int adv = 0, lsb = 0;
        stbtt_GetGlyphHMetrics(&f.info, index, &adv, &lsb);
        pen += adv;
        previous = index;
    }
    advance = pen;
    return glyphs;
}

} // namespace

std::vector<char32_t> decode_utf8(std::string_view text) {
    std::vector<char32_t> out;
    size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        int n = 0;
        char32_t cp = 0;
        if (c < 0x80) {
            out.push_back(c);
            ++i;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07;
        } else {
            out.push_back(0xFFFD);
            ++i;
            continue;
        }
        bool ok = true;
        for (int k = 1; ok && k <= n; ++k) {
            if (i + k >= text.size()) {
                ok = false;
                break;
            }
            const auto cc = static_cast<unsigned char>(text[i + k]);
            if ((cc & 0xC0) != 0x80) {
                ok = false;
            } else {
                cp = (cp << 6) | (cc & 0x3F);
            }
        }
        static constexpr char32_t least[4] = {0, 0x80, 0x800, 0x10000};
        if (!ok || cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            out.push_back(0xFFFD);
            ++i; // resynchronise on the next byte
            continue;
        }
        out.push_back(cp);
        i += static_cast<size_t>(n) + 1;
    }
    return out;
}

TextExtent measure_text(std::string_view text, double size) {
    const Font& f = font();
    const double s = f.scale(size);
    double advance = 0;
    const std::vector<Glyph> glyphs = layout_glyphs(f, text, advance);
    TextExtent e;
    e.advance = advance * s;
    e.top = -f.ascent * s;
    e.bottom = f.descent * s;
    double left = INFINITY, right = -INFINITY, top = INFINITY, bottom = -INFINITY;
    for (const Glyph& g : glyphs) {
        int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
        if (stbtt_IsGlyphEmpty(&f.info, g.index) ||
            !stbtt_GetGlyphBox(&f.info, g.index, &x0, &y0, &x1, &y1)) {
            continue;
        }
        left = std::min(left, g.pen + x0);
        right = std::max(right, g.pen + x1);
        top = std::min(top, -static_cast<double>(y1));
        bottom = std::max(bottom, -static_cast<double>(y0));
    }
    if (std::isfinite(left)) {
        e.ink_left = left * s;
        e.ink_right = right * s;
        e.ink_top = top * s;
        e.ink_bottom = bottom * s;
    }
    return e;
}

double text_width(std::string_view text, double size) {
    return measure_text(text, size).advance;
}

double font_ascent(double size) {
    return font().ascent * font().scale(size);
}

double font_descent(double size) {
    return font().descent * font().scale(size);
}

double cap_height(double size) {
    return font().cap * font().scale(size);
}

void draw_text(Image& image, double x, double y, std::string_view text, double size, Rgb colour,
               TextDirection direction) {
    if (!(size > 0) || !std::isfinite(x) || !std::isfinite(y)) {
        return;
    }
    const Font& f = font();
    const auto s = static_cast<float>(f.scale(size));
    double advance = 0;
    std::vector<unsigned char> bitmap;
    for (const Glyph& g : layout_glyphs(f, text, advance)) {
        if (stbtt_IsGlyphEmpty(&f.info, g.index)) {
            continue;
        }
        // Along the text: the pen's position in pixels, split into a whole pixel and the
        // sub-pixel shift stb renders at. Across it: the baseline, likewise.
        const double along = g.pen * s;
        double origin_u = 0;
        double origin_v = 0;
        if (direction == TextDirection::right) {
            origin_u = x + along;
            origin_v = y;
        } else {
            // Image row = Y - u for a whole Y at or below y: u measured up from Y.
            origin_u = along + (std::ceil(y) - y);
            origin_v = x;
        }
        const double base_u = std::floor(origin_u);
        const double base_v = std::floor(origin_v);
        const auto shift_u = static_cast<float>(origin_u - base_u);
        const auto shift_v = static_cast<float>(origin_v - base_v);
        int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
        stbtt_GetGlyphBitmapBoxSubpixel(&f.info, g.index, s, s, shift_u, shift_v, &x0, &y0, &x1,
                                        &y1);
        const int w = x1 - x0;
        const int h = y1 - y0;
        if (w <= 0 || h <= 0 || w > 4096 || h > 4096) {
            continue;
        }
        bitmap.assign(static_cast<size_t>(w) * h, 0);
        stbtt_MakeGlyphBitmapSubpixel(&f.info, bitmap.data(), w, h, w, s, s, shift_u, shift_v,
                                      g.index);
        for (int r = 0; r < h; ++r) {
            for (int c = 0; c < w; ++c) {
                const unsigned char a = bitmap[static_cast<size_t>(r) * w + c];
                if (a == 0) {
                    continue;
                }
                const double alpha = a / 255.0;
                if (direction == TextDirection::right) {
                    image.blend(static_cast<int64_t>(base_u) + x0 + c,
                                static_cast<int64_t>(base_v) + y0 + r, colour, alpha);
                } else {
                    image.blend(static_cast<int64_t>(base_v) + y0 + r,
                                static_cast<int64_t>(std::ceil(y)) - static_cast<int64_t>(base_u) -
                                    x0 - c - 1,
                                colour, alpha);
                }
            }
        }
    }
}

} // namespace rpb
