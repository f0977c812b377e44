#include "rpb/visualize_checkpoint.hpp"

#include "format_io.hpp"
#include "rpb/checkpoint.hpp"
#include "rpb/error.hpp"
#include "rpb/visualize.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace rpb {

CheckpointRange parse_checkpoint_range(std::string_view name) {
    if (name == "shared") {
        return CheckpointRange::shared;
    }
    if (name == "per-block") {
        return CheckpointRange::per_block;
    }
    throw UsageError(fmt::format("--range {}: expected shared or per-block", name));
}

HeatmapSpec checkpoint_heatmap(const SafetensorsFile& file, CheckpointRange range) {
    std::vector<HeatmapSpec> rows;
    std::vector<std::string> labels;
    std::string skipped;
    std::string first_name;
    bool by_distance = false;
    int64_t columns = 0;
    for (const CheckpointBias& b : find_biases(file)) {
        if (!b.resolved) {
            skipped += (skipped.empty() ? "" : ", ") + detail::printable(b.name);
            continue;
        }
        Scheme scheme = b.scheme;
        if (scheme.type == SchemeType::t5) {
            // Distances out to where every bucket is reached (the last ones cover the rest).
            scheme.qlen = scheme.klen = std::max<int64_t>(scheme.t5.max_distance, 2);
        }
        const BiasView view =
            scheme.type == SchemeType::window2d ? BiasView::table : BiasView::strip;
        by_distance = view == BiasView::strip;
        HeatmapSpec row = bias_heatmap(scheme, bias_table(file, b), view, std::nullopt, "");
        if (!rows.empty() && row.panels[0].values.shape() != rows[0].panels[0].values.shape()) {
            throw Error(fmt::format("{}: {} and {} need pictures of different shapes ({} and "
                                    "{}); draw them one at a time with --table",
                                    file.origin(), first_name, detail::printable(b.name),
                                    shape_string(rows[0].panels[0].values.shape()),
                                    shape_string(row.panels[0].values.shape())));
        }
        if (rows.empty()) {
            first_name = detail::printable(b.name);
        }
        if (range == CheckpointRange::per_block) {
            double h = 0;
            for (const Panel& p : row.panels) {
                for (const float v : p.values.values()) {
                    h = std::max(h, std::abs(static_cast<double>(v)));
                }
            }
            for (Panel& p : row.panels) {
                for (float& v : p.values.values()) {
                    v = h > 0 ? static_cast<float>(v / h) : 0.0f;
                }
            }
        }
        columns = std::max<int64_t>(columns, static_cast<int64_t>(row.panels.size()));
        labels.push_back(b.prefix.empty() ? detail::printable(b.name)
                                          : detail::printable(b.prefix));
        rows.push_back(std::move(row));
    }
    if (rows.empty()) {
        throw Error(skipped.empty()
                        ? fmt::format("{}: no relative position bias to draw", file.origin())
                        : fmt::format("{}: no bias whose scheme is known (inspect says why): {}",
                                      file.origin(), skipped));
    }
    HeatmapSpec spec = rows[0];
    spec.panels.clear();
    for (size_t r = 0; r < rows.size(); ++r) {
        for (size_t k = 0; k < rows[r].panels.size(); ++k) {
            Panel p = std::move(rows[r].panels[k]);
            p.slot = static_cast<int64_t>(r) * columns + static_cast<int64_t>(k);
            // A distance panel holds every head as a row.
            p.title =
                by_distance ? fmt::format("{} heads", p.values.dim(0)) : fmt::format("h{}", k);
            spec.panels.push_back(std::move(p));
        }
    }
    spec.columns = columns;
    spec.row_labels = labels;
    spec.scale = ValueScale::symmetric;
    spec.value_label = range == CheckpointRange::per_block ? "bias / block max" : "bias";
    spec.title = fmt::format("relative position biases | {} | {} block{}{}{}", file.origin(),
                             rows.size(), rows.size() == 1 ? "" : "s",
                             range == CheckpointRange::per_block ? ", each scaled to its max" : "",
                             skipped.empty() ? "" : " (skipped, scheme unknown: " + skipped + ")");
    return spec;
}

} // namespace rpb
