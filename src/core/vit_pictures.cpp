#include "rpb/vit_pictures.hpp"

#include "rpb/error.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace rpb {

namespace {

void check_layer(std::optional<int64_t> layer, int64_t depth) {
    if (layer && (*layer < 0 || *layer >= depth)) {
        throw UsageError(fmt::format("--layer {} is out of range: expected a block from 0 to {}",
                                     *layer, depth - 1));
    }
}

std::string model_line(const ViTConfig& c) {
    return fmt::format("ViT {} pool {}, {} blocks x {} heads, E={}, {}x{} patches of {}",
                       position_name(c.pos), pool_name(c.pool), c.depth, c.heads, c.embed_dim,
                       c.grid_h(), c.grid_w(), c.patch);
}

} // namespace

HeatmapSpec model_bias_heatmap(const ViT& model, std::optional<BiasView> view,
                               std::optional<int64_t> layer, const std::string& origin) {
    const ViTConfig& c = model.config();
    if (!c.has_table()) {
        throw UsageError(fmt::format("{}: a --pos {} model has no bias tables to draw (try --what "
                                     "attn)",
                                     origin, position_name(c.pos)));
    }
    check_layer(layer, c.depth);
    const Scheme scheme = c.scheme();
    // The Swin offset view for 2d tables, bias by distance for t5 and 1d.
    const BiasView v =
        view ? *view : (scheme.type == SchemeType::window2d ? BiasView::table : BiasView::strip);
    std::vector<float> params = model.parameters();
    const ViTViews w = model.views(params.data());
    HeatmapSpec spec;
    for (int64_t l = 0; l < c.depth; ++l) {
        if (layer && *layer != l) {
            continue;
        }
        const int64_t entries = c.table_entries();
        const float* t = w.blocks[static_cast<size_t>(l)].table;
        const FloatTensor table({entries, c.heads}, std::vector<float>(t, t + entries * c.heads));
        HeatmapSpec block = bias_heatmap(scheme, table, v, std::nullopt, origin);
        for (Panel& p : block.panels) {
            p.title = fmt::format("block {}, {}", l, p.title);
            spec.panels.push_back(std::move(p));
        }
        if (spec.title.empty()) {
            spec.x_label = block.x_label;
            spec.y_label = block.y_label;
            spec.x_first = block.x_first;
            spec.y_first = block.y_first;
            spec.value_label = block.value_label;
            spec.scale = block.scale;
            spec.columns = v == BiasView::strip ? 1 : c.heads;
            spec.title = fmt::format("learned bias tables | {} | {}", model_line(c), origin);
        }
    }
    return spec;
}

LineFigure model_distance_plot(const ViT& model, std::optional<int64_t> layer,
                               const std::string& origin) {
    const ViTConfig& c = model.config();
    if (!c.has_table() || c.scheme().type == SchemeType::window2d) {
        throw UsageError(fmt::format("{}: --view distance applies to t5 and rpb-1d models, not "
                                     "--pos {}",
                                     origin, position_name(c.pos)));
    }
    check_layer(layer, c.depth);
    const Scheme scheme = c.scheme();
    std::vector<float> params = model.parameters();
    const ViTViews w = model.views(params.data());
    LineFigure figure;
    figure.title = fmt::format("learned bias by distance | {} | {}", model_line(c), origin);
    for (int64_t l = 0; l < c.depth; ++l) {
        if (layer && *layer != l) {
            continue;
        }
        const int64_t entries = c.table_entries();
        const float* t = w.blocks[static_cast<size_t>(l)].table;
        const FloatTensor table({entries, c.heads}, std::vector<float>(t, t + entries * c.heads));
        LineFigure block = bias_distance_plot(scheme, table, std::nullopt, origin);
        block.panels[0].title = fmt::format("block {}", l);
        figure.panels.push_back(std::move(block.panels[0]));
    }
    return figure;
}

HeatmapSpec model_attention_heatmap(ThreadPool& pool, const ViT& model, const uint8_t* image,
                                    std::optional<int64_t> layer, const std::string& title) {
    const ViTConfig& c = model.config();
    check_layer(layer, c.depth);
    const std::vector<FloatTensor> probs = model.attention_probabilities(pool, image, 1);
    const int64_t t = c.tokens();
    const int64_t first = c.pool == PoolKind::cls ? 1 : 0;
    HeatmapSpec spec;
    spec.title = fmt::format("{} | {}", title, model_line(c));
    spec.x_label = "patch column";
    spec.y_label = "patch row";
    spec.value_label = c.pool == PoolKind::cls ? "class token's attention" : "mean attention";
    spec.scale = ValueScale::linear;
    spec.columns = c.heads;
    for (int64_t l = 0; l < c.depth; ++l) {
        if (layer && *layer != l) {
            continue;
        }
        const FloatTensor& p = probs[static_cast<size_t>(l)];
        for (int64_t h = 0; h < c.heads; ++h) {
            FloatTensor map({c.grid_h(), c.grid_w()}, 0.0f);
            const float* ph = p.data() + h * t * t;
            for (int64_t k = 0; k < c.patches(); ++k) {
                if (c.pool == PoolKind::cls) {
                    map[k] = ph[first + k]; // row 0: the class token as query
                } else {
                    double sum = 0.0;
                    for (int64_t q = 0; q < t; ++q) {
                        sum += ph[q * t + first + k];
                    }
                    map[k] = static_cast<float>(sum / static_cast<double>(t));
                }
            }
            spec.panels.push_back({fmt::format("block {}, head {}", l, h), std::move(map)});
        }
    }
    return spec;
}

Figure image_picture(const uint8_t* image, int64_t height, int64_t width, const std::string& title,
                     int side) {
    const int64_t cell = std::max<int64_t>(1, side / std::max(height, width));
    constexpr double size = 12;
    constexpr double margin = 12;
    const double title_w = text_box(title, size).width();
    const double top = margin + std::ceil(font_ascent(size) + font_descent(size)) + 6;
    Figure fig;
    fig.width = std::ceil(std::max(static_cast<double>(width * cell), title_w) + 2 * margin);
    fig.height = top + static_cast<double>(height * cell) + margin;
    fig.text(Text{title, margin, margin + font_ascent(size), size, Anchor::start,
                  TextDirection::right, Rgb{34, 34, 34}},
             "image-title");
    CellImage cells{margin, top, static_cast<double>(cell), static_cast<double>(cell), height,
                    width,  {}};
    for (int64_t i = 0; i < height * width; ++i) {
        cells.cells.push_back(Rgb{image[i], image[i], image[i]});
    }
    fig.cells(std::move(cells), "image");
    return fig;
}

Figure side_by_side(const Figure& left, const Figure& right) {
    Figure out;
    out.width = left.width + right.width;
    out.height = std::max(left.height, right.height);
    out.append(left, 0, 0);
    out.append(right, left.width, 0);
    return out;
}

} // namespace rpb
