#include "rpb/figure.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace rpb {

void Figure::rect(const Box& box, Rgb fill, std::string tag) {
    items.push_back({FilledRect{box, fill}, std::move(tag)});
}

void Figure::line(std::vector<std::pair<double, double>> points, double stroke, Rgb colour,
                  std::string tag) {
    items.push_back({Polyline{std::move(points), stroke, colour}, std::move(tag)});
}

void Figure::text(Text t, std::string tag) {
    items.push_back({std::move(t), std::move(tag)});
}

void Figure::cells(CellImage image, std::string tag) {
    items.push_back({std::move(image), std::move(tag)});
}

void Figure::append(const Figure& other, double dx, double dy) {
    for (FigureItem item : other.items) {
        std::visit(
            [dx, dy](auto& s) {
                using T = std::decay_t<decltype(s)>;
                if constexpr (std::is_same_v<T, FilledRect>) {
                    s.box = {s.box.x0 + dx, s.box.y0 + dy, s.box.x1 + dx, s.box.y1 + dy};
                } else if constexpr (std::is_same_v<T, Polyline>) {
                    for (auto& [x, y] : s.points) {
                        x += dx;
                        y += dy;
                    }
                } else {
                    s.x += dx;
                    s.y += dy;
                }
            },
            item.shape);
        items.push_back(std::move(item));
    }
}

Box text_box(const Text& t) {
    const TextExtent e = measure_text(t.text, t.size);
    const double start = t.anchor == Anchor::start    ? 0.0
                         : t.anchor == Anchor::middle ? -e.advance / 2
                                                      : -e.advance;
    const double along0 = start + std::min(0.0, e.ink_left);
    const double along1 = start + std::max(e.advance, e.ink_right);
    const double across0 = std::min(e.top, e.ink_top);
    const double across1 = std::max(e.bottom, e.ink_bottom);
    if (t.direction == TextDirection::right) {
        return {t.x + along0, t.y + across0, t.x + along1, t.y + across1};
    }
    // Rotated counter-clockwise: along the text is up the page, below the baseline is right.
    return {t.x + across0, t.y - along1, t.x + across1, t.y - along0};
}

Box text_box(std::string_view text, double size) {
    return text_box(Text{std::string(text), 0, 0, size, Anchor::start, TextDirection::right, {}});
}

Box item_box(const FigureShape& shape) {
    return std::visit(
        [](const auto& s) -> Box {
            using T = std::decay_t<decltype(s)>;
            if constexpr (std::is_same_v<T, FilledRect>) {
                return s.box;
            } else if constexpr (std::is_same_v<T, Polyline>) {
                Box b{INFINITY, INFINITY, -INFINITY, -INFINITY};
                for (const auto& [x, y] : s.points) {
                    b = {std::min(b.x0, x), std::min(b.y0, y), std::max(b.x1, x),
                         std::max(b.y1, y)};
                }
                const double h = s.width / 2;
                return s.points.empty() ? Box{} : Box{b.x0 - h, b.y0 - h, b.x1 + h, b.y1 + h};
            } else if constexpr (std::is_same_v<T, Text>) {
                return text_box(s);
            } else {
                return {s.x, s.y, s.x + s.cell_w * static_cast<double>(s.cols),
                        s.y + s.cell_h * static_cast<double>(s.rows)};
            }
        },
        shape);
}

std::pair<int64_t, int64_t> pixel_size(const Figure& figure, double scale) {
    return {std::llround(figure.width * scale), std::llround(figure.height * scale)};
}

} // namespace rpb
