#include "markup_escape.hpp"

#include "rpb/font.hpp"

#include <cstdint>
#include <fmt/format.h>

namespace rpb::detail {

std::string escape_markup(std::string_view text) {
    std::string out;
    for (const char32_t c : decode_utf8(text)) {
        switch (c) {
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '&':
            out += "&amp;";
            break;
        case '"':
            out += "&quot;";
            break;
        default:
            // XML 1.0 forbids most control characters even as references: show them as
            // U+FFFD, as the raster's missing glyph shows them.
            if (c < 0x20 || c == 0xFFFE || c == 0xFFFF) {
                out += "\xEF\xBF\xBD";
            } else if (c < 0x80) {
                out += static_cast<char>(c);
            } else {
                out += fmt::format("&#x{:X};", static_cast<uint32_t>(c));
            }
        }
    }
    return out;
}

} // namespace rpb::detail
