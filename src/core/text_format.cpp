#include "rpb/text_format.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <optional>
#include <type_traits>
#include <vector>

namespace rpb {

namespace {

// numpy's defaults: summarise above 1000 values, keeping 3 items at each edge.
constexpr int64_t summary_threshold = 1000;
constexpr int64_t edge_items = 3;

/// Shown indices of one dimension; -1 stands for the "..." gap.
std::vector<int64_t> shown_indices(int64_t size, bool summarise) {
    std::vector<int64_t> indices;
    if (!summarise || size <= 2 * edge_items) {
        for (int64_t i = 0; i < size; ++i) {
            indices.push_back(i);
        }
        return indices;
    }
    for (int64_t i = 0; i < edge_items; ++i) {
        indices.push_back(i);
    }
    indices.push_back(-1);
    for (int64_t i = size - edge_items; i < size; ++i) {
        indices.push_back(i);
    }
    return indices;
}

/// How floats are printed: one style for the whole tensor, so that columns line up.
struct FloatStyle {
    bool scientific = false;
    int decimals = 0;
};

/// numpy's choice, simplified: fixed notation with up to 8 significant digits of the
/// smallest shown magnitude, unless the magnitudes span too much (then scientific).
FloatStyle choose_float_style(const std::vector<double>& magnitudes) {
    double largest = 0, smallest = 0;
    for (double m : magnitudes) {
        if (m == 0 || !std::isfinite(m)) {
            continue;
        }
        largest = std::max(largest, m);
        smallest = smallest == 0 ? m : std::min(smallest, m);
    }
    FloatStyle style;
    if (largest == 0) {
        style.decimals = 1;
        return style;
    }
    if (largest >= 1e8 || smallest < 1e-4 || largest / smallest > 1e8) {
        style.scientific = true;
        style.decimals = 6;
        return style;
    }
    style.decimals = std::clamp(7 - static_cast<int>(std::floor(std::log10(smallest))), 1, 8);
    return style;
}

template <typename T>
std::string format_cell(T value, const FloatStyle& style) {
    if constexpr (std::is_floating_point_v<T>) {
        return style.scientific ? fmt::format("{:.{}e}", value, style.decimals)
                                : fmt::format("{:.{}f}", value, style.decimals);
    } else {
        return fmt::format("{}", value);
    }
}

template <typename T>
class TextPrinter {
public:
    explicit TextPrinter(const RowSource<T>& source) : source_(source) {
        const Shape& shape = source.shape;
        int64_t total = 1;
        for (int64_t d : shape) {
            total *= d;
        }
        const bool summarise = total > summary_threshold;
        for (int64_t d : shape) {
            shown_.push_back(shown_indices(d, summarise));
        }
    }

    std::string print() {
        const Shape& shape = source_.shape;
        if (shape.empty()) {
            T value{};
            source_.fill(0, 1, &value);
            return format_cell(value, choose_float_style({std::abs(double(value))})) + "\n";
        }
        // Fetch the shown rows first: the style and column width depend on all of them.
        collect(0, 0);
        std::vector<double> magnitudes;
        for (const auto& [row, values] : rows_) {
            for (T v : values) {
                magnitudes.push_back(std::abs(static_cast<double>(v)));
            }
        }
        const FloatStyle style = choose_float_style(magnitudes);
        for (auto& [row, values] : rows_) {
            auto& cells = cells_[row];
            for (size_t k = 0, v = 0; k < shown_.back().size(); ++k) {
                cells.push_back(shown_.back()[k] < 0 ? std::string("...")
                                                     : format_cell(values[v++], style));
                if (shown_.back()[k] >= 0) {
                    width_ = std::max(width_, cells.back().size());
                }
            }
        }
        std::string text;
        emit(0, 0, text);
        return text + "\n";
    }

private:
    // Walks the shown indices of the leading dimensions, fetching each shown row once.
    void collect(size_t dim, int64_t row) {
        if (dim + 1 >= source_.shape.size()) {
            std::vector<T> values(static_cast<size_t>(source_.row_length()));
            source_.fill(row, 1, values.data());
            std::vector<T>& shown = rows_[row];
            for (int64_t j : shown_.back()) {
                if (j >= 0) {
                    shown.push_back(values[static_cast<size_t>(j)]);
                }
            }
            return;
        }
        for (int64_t i : shown_[dim]) {
            if (i >= 0) {
                collect(dim + 1, row * source_.shape[dim] + i);
            }
        }
    }

    void emit(size_t dim, int64_t row, std::string& text) {
        const size_t rank = source_.shape.size();
        text += '[';
        if (dim + 1 == rank) {
            const auto& cells = cells_.at(row);
            for (size_t k = 0; k < cells.size(); ++k) {
                if (k) {
                    text += ' ';
                }
                text += cells[k] == "..." ? cells[k] : fmt::format("{:>{}}", cells[k], width_);
            }
            text += ']';
            return;
        }
        bool first = true;
        for (int64_t i : shown_[dim]) {
            if (!first) {
                // Separate sub-blocks by newlines, one more for each level above the rows.
                text += '\n';
                text.append(rank - dim - 2, '\n');
                text.append(dim + 1, ' ');
            }
            first = false;
            if (i < 0) {
                text += "...";
                continue;
            }
            emit(dim + 1, row * source_.shape[dim] + i, text);
        }
        text += ']';
    }

    const RowSource<T>& source_;
    std::vector<std::vector<int64_t>> shown_;
    std::map<int64_t, std::vector<T>> rows_;            ///< shown values of shown rows
    std::map<int64_t, std::vector<std::string>> cells_; ///< the same, formatted
    size_t width_ = 1;
};

template <typename T>
void write_text_impl(OutputFile& out, const RowSource<T>& source) {
    TextPrinter<T> printer(source);
    out.write(printer.print());
}

} // namespace

void write_text(OutputFile& out, const RowSource<float>& source) {
    write_text_impl(out, source);
}
void write_text(OutputFile& out, const RowSource<int32_t>& source) {
    write_text_impl(out, source);
}

} // namespace rpb
