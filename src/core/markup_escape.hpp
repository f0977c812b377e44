// Text put into SVG and HTML markup (element text and attribute values).
#pragma once

#include <string>
#include <string_view>

namespace rpb::detail {

/// `text` (UTF-8) escaped for XML 1.0 and HTML: < > & " as entities, non-ASCII as numeric
/// character references (so the markup itself is ASCII), and the control characters XML
/// forbids even as references shown as U+FFFD, as the raster's missing glyph shows them.
std::string escape_markup(std::string_view text);

} // namespace rpb::detail
