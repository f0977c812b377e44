// rpbtool inspect FILE: every relative position bias of a checkpoint, as an aligned table or
// one JSON object. The file is mapped; only tables, MLPs and index buffers are read.
#include "cli_common.hpp"
#include "commands.hpp"
#include "rpb/checkpoint.hpp"
#include "rpb/error.hpp"
#include "rpb/table_structure.hpp"

#include <array>
#include <cmath>
#include <fmt/format.h>
#include <memory>
#include <optional>
#include <string_view>

namespace rpb::cli {

namespace {

struct InspectOptions {
    std::string file;
    bool structure = false;
    OutputOptions output;
};

// Names can hold anything (a hostile file): escape what a terminal would interpret.
std::string safe(std::string_view text) {
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f || u == '\\') {
            out += u == '\\' ? std::string("\\\\") : fmt::format("\\x{:02x}", u);
        } else {
            out += c;
        }
    }
    return out;
}

std::string scheme_cell(const CheckpointBias& b) {
    if (!b.resolved) {
        return "?";
    }
    const Scheme& s = b.scheme;
    switch (s.type) {
    case SchemeType::window2d:
        return fmt::format("2d {}x{}{}", s.window_h, s.window_w, s.cls_token ? "+cls" : "");
    case SchemeType::window1d:
        return fmt::format("1d {}", s.window_w);
    case SchemeType::t5:
        break;
    }
    return fmt::format("t5 {}{}", s.t5.num_buckets, s.t5.bidirectional ? "" : " causal");
}

nlohmann::json to_json(const CheckpointBias& b) {
    const Scheme& s = b.scheme;
    const bool window = b.resolved && s.type != SchemeType::t5;
    nlohmann::json j = {
        {"name", b.name},
        {"prefix", b.prefix},
        {"kind", bias_kind_name(b.kind)},
        {"type", b.resolved ? nlohmann::json(scheme_type_name(s.type)) : nlohmann::json()},
        {"window", !window                          ? nlohmann::json()
                   : s.type == SchemeType::window2d ? nlohmann::json({s.window_h, s.window_w})
                                                    : nlohmann::json({s.window_w})},
        {"cls_token", window && s.type == SchemeType::window2d && s.cls_token},
        {"num_buckets", b.resolved && s.type == SchemeType::t5 ? nlohmann::json(s.t5.num_buckets)
                                                               : nlohmann::json()},
        {"causal", b.resolved && s.type == SchemeType::t5 && !s.t5.bidirectional},
        // Checkpoints do not store it: 128 is the HF T5 / torchscale default (or the config's).
        {"max_distance", b.resolved && s.type == SchemeType::t5 ? nlohmann::json(s.t5.max_distance)
                                                                : nlohmann::json()},
        {"entries", b.entries},
        {"heads", b.heads},
        {"layout", b.kind == BiasKind::cpb ? "mlp" : "entries-heads"},
        {"attention", b.attention.empty() ? nlohmann::json() : nlohmann::json(b.attention)},
        {"index", b.index_name.empty() ? nlohmann::json() : nlohmann::json(b.index_name)},
        {"scheme_from", b.resolved ? nlohmann::json(b.source) : nlohmann::json()},
        {"used_by", b.used_by},
    };
    if (!b.note.empty()) {
        j["note"] = b.note;
    }
    if (b.entries > 0 && (b.kind == BiasKind::table || b.resolved)) {
        j["min"] = b.stats.min;
        j["max"] = b.stats.max;
        j["mean"] = b.stats.mean;
        j["std"] = b.stats.std;
    } else {
        j["min"] = j["max"] = j["mean"] = j["std"] = nullptr;
    }
    return j;
}

std::string text_report(const SafetensorsFile& file, const std::vector<CheckpointBias>& biases) {
    std::vector<std::vector<std::string>> rows = {{"block", "tensor", "kind", "scheme", "entries",
                                                   "heads", "attention", "used by", "min", "max",
                                                   "mean", "std"}};
    for (const auto& b : biases) {
        const bool stats = b.entries > 0 && (b.kind == BiasKind::table || b.resolved);
        auto num = [&](double v) { return stats ? fmt::format("{:.4g}", v) : std::string("-"); };
        // The block, then the tensor's name inside it (HF tables sit a module or two deeper).
        const bool under = !b.prefix.empty() && b.name.starts_with(b.prefix + ".");
        rows.push_back(
            {b.prefix.empty() ? "-" : safe(b.prefix),
             b.kind == BiasKind::cpb ? std::string("cpb_mlp")
                                     : safe(under ? b.name.substr(b.prefix.size() + 1) : b.name),
             std::string(bias_kind_name(b.kind)), scheme_cell(b),
             b.entries > 0 ? fmt::format("{}", b.entries) : "-", fmt::format("{}", b.heads),
             b.attention.empty() ? "-" : b.attention, fmt::format("{}", b.used_by),
             num(b.stats.min), num(b.stats.max), num(b.stats.mean), num(b.stats.std)});
    }
    std::vector<size_t> width(rows[0].size(), 0);
    for (const auto& row : rows) {
        for (size_t c = 0; c < row.size(); ++c) {
            width[c] = std::max(width[c], row[c].size());
        }
    }
    std::string text =
        fmt::format("# {}: {} tensors, {} relative position bias{}\n", safe(file.origin()),
                    file.entries().size(), biases.size(), biases.size() == 1 ? "" : "es");
    if (biases.empty()) {
        return text;
    }
    for (const auto& row : rows) {
        std::string line;
        for (size_t c = 0; c < row.size(); ++c) {
            // Text columns left-aligned, numbers right-aligned.
            const bool left = c <= 3 || c == 6;
            line += (c ? "  " : "") + (left ? fmt::format("{:<{}}", row[c], width[c])
                                            : fmt::format("{:>{}}", row[c], width[c]));
        }
        while (!line.empty() && line.back() == ' ') {
            line.pop_back();
        }
        text += line + "\n";
    }
    for (const auto& b : biases) {
        if (!b.note.empty()) {
            text += fmt::format("# {}: {}\n", safe(b.name), b.note);
        }
    }
    return text;
}

// --structure: the per-head numbers of every resolved window table (t5 buckets and tables
// whose scheme is unknown have none).
bool has_structure(const CheckpointBias& b) {
    return b.resolved && b.scheme.type != SchemeType::t5;
}

// The block a table's structure rows are labelled with: its module, or the tensor's name when
// it sits at the top level.
std::string structure_block(const CheckpointBias& b) {
    return safe(b.prefix.empty() ? b.name : b.prefix);
}

nlohmann::json number_or_null(double v) {
    return std::isnan(v) ? nlohmann::json() : nlohmann::json(v);
}

nlohmann::json structure_json(const std::vector<HeadStructure>& heads) {
    nlohmann::json out = nlohmann::json::array();
    for (const HeadStructure& s : heads) {
        out.push_back({{"head", s.head},
                       {"self", number_or_null(s.self)},
                       {"locality", number_or_null(s.locality)},
                       {"row_minus_column", number_or_null(s.row_minus_column)},
                       {"mirror", number_or_null(s.mirror)},
                       {"row_period", number_or_null(s.row_period)},
                       {"cls_to_token", number_or_null(s.cls_to_token)},
                       {"token_to_cls", number_or_null(s.token_to_cls)},
                       {"cls_to_cls", number_or_null(s.cls_to_cls)}});
    }
    return out;
}

// One row per head of every table that has a structure; the block column is as wide as the
// longest block name (HF names such as encoder.layer.11.attention are long).
std::string
structure_text(const std::vector<CheckpointBias>& biases,
               const std::vector<std::optional<std::vector<HeadStructure>>>& structures) {
    std::string text =
        "# per head (offset = query - key): self = (b(0,0) - mean) / std; locality = corr(b, "
        "-|offset|);\n# row-col = (mean b in the query's row - in its column) / std; mirror = "
        "corr(b(dy,dx), b(dy,-dx));\n# period = 1d over image patches, W a row: corr(b(d), "
        "b(d+W)); cls entries raw\n";
    size_t block_width = std::string_view("block").size();
    for (size_t i = 0; i < biases.size(); ++i) {
        if (structures[i]) {
            block_width = std::max(block_width, structure_block(biases[i]).size());
        }
    }
    const auto row = [&](const std::string& block, const std::string& head,
                         const std::array<std::string, 8>& cells) {
        return fmt::format(
            "{:<{}}  {:>4}  {:>7}  {:>8}  {:>7}  {:>6}  {:>6}  {:>8}  {:>8}  {:>8}\n", block,
            block_width, head, cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6],
            cells[7]);
    };
    text += row(
        "block", "head",
        {"self", "locality", "row-col", "mirror", "period", "cls->tok", "tok->cls", "cls->cls"});
    const auto num = [](double v, int digits) {
        return std::isnan(v) ? std::string("-") : fmt::format("{:.{}f}", v, digits);
    };
    for (size_t i = 0; i < biases.size(); ++i) {
        if (!structures[i]) {
            continue;
        }
        for (const HeadStructure& s : *structures[i]) {
            text += row(structure_block(biases[i]), fmt::format("{}", s.head),
                        {num(s.self, 2), num(s.locality, 2), num(s.row_minus_column, 2),
                         num(s.mirror, 2), num(s.row_period, 2), num(s.cls_to_token, 3),
                         num(s.token_to_cls, 3), num(s.cls_to_cls, 3)});
        }
    }
    return text;
}

void run_inspect(const InspectOptions& o) {
    const OutputFormat format = resolve_format(o.output);
    if (format != OutputFormat::text && format != OutputFormat::json) {
        throw UsageError(
            o.output.format.empty()
                ? fmt::format("-o {}: inspect writes text or json (.txt, .json)", o.output.path)
                : fmt::format("--format {}: inspect writes text or json", o.output.format));
    }
    const SafetensorsFile file(o.file);
    const std::vector<CheckpointBias> biases = find_biases(file);
    // structures[i] belongs to biases[i]; empty for a table that has none (or without
    // --structure).
    std::vector<std::optional<std::vector<HeadStructure>>> structures(biases.size());
    bool any_structure = false;
    if (o.structure) {
        for (size_t i = 0; i < biases.size(); ++i) {
            if (has_structure(biases[i])) {
                structures[i] = table_structure(bias_table(file, biases[i]), biases[i].scheme,
                                                biases[i].image_row);
                any_structure = true;
            }
        }
    }
    std::string text;
    if (format == OutputFormat::json) {
        nlohmann::json tables = nlohmann::json::array();
        for (size_t i = 0; i < biases.size(); ++i) {
            tables.push_back(to_json(biases[i]));
            if (o.structure) {
                tables.back()["structure"] =
                    structures[i] ? structure_json(*structures[i]) : nlohmann::json();
            }
        }
        const nlohmann::json doc = {{"command", "inspect"},
                                    {"file", o.file},
                                    {"tensors", file.entries().size()},
                                    {"tables", tables}};
        // Names from a hostile file may not be UTF-8: replace rather than fail.
        text = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    } else {
        text = text_report(file, biases);
        if (any_structure) {
            text += structure_text(biases, structures);
        }
    }
    auto out = open_output(o.output, false);
    out->write(text);
    out->commit();
}

} // namespace

Runner setup_inspect(CLI::App& app) {
    auto options = std::make_shared<InspectOptions>();
    CLI::App* command = app.add_subcommand(
        "inspect", "Every relative position bias of a .safetensors checkpoint: block, scheme, "
                   "heads, statistics");
    command->configurable();
    command->add_option("file", options->file, "The checkpoint (.safetensors)")->required();
    command->add_flag("--structure", options->structure,
                      "Also, per head of every window table: self, locality, row-col, mirror "
                      "and the class-token entries (what the head prefers)");
    add_output_options(*command, options->output);
    return [options]() { run_inspect(*options); };
}

} // namespace rpb::cli
