#include "table_options.hpp"

#include "cli_common.hpp"
#include "rpb/checkpoint.hpp"
#include "rpb/error.hpp"
#include "rpb/npy.hpp"
#include "rpb/output_file.hpp"
#include "rpb/safetensors.hpp"
#include "rpb/safetensors_file.hpp"
#include "rpb/swin_v2.hpp"
#include "rpb/table.hpp"

#include <cmath>
#include <fmt/format.h>

namespace rpb::cli {

namespace {

// A Swin V2 block's table for the scheme's window, from its MLP.
FloatTensor cpb_from_file(const TableOptions& o, const Scheme& scheme) {
    if (!o.table.empty()) {
        throw UsageError("--cpb and --table both give the table: choose one");
    }
    if (scheme.type != SchemeType::window2d || scheme.cls_token) {
        throw UsageError(fmt::format("--cpb {}: a Swin V2 bias needs a 2d window without class "
                                     "token (--window HxW), not {}",
                                     o.cpb, scheme.describe()));
    }
    const TableSpec spec = parse_table_spec(o.cpb);
    const SafetensorsFile file(spec.path);
    std::string prefix = spec.name;
    if (!prefix.empty() && prefix.back() != '.') {
        prefix += '.';
    }
    CpbMlp mlp;
    FloatTensor* parts[] = {&mlp.w0, &mlp.b0, &mlp.w2};
    const char* names[] = {"cpb_mlp.0.weight", "cpb_mlp.0.bias", "cpb_mlp.2.weight"};
    for (int i = 0; i < 3; ++i) {
        const auto* entry = file.find(prefix + names[i]);
        if (entry == nullptr) {
            throw Error(fmt::format("--cpb {}: no tensor '{}{}' (a Swin V2 block holds "
                                    "cpb_mlp.0.weight, cpb_mlp.0.bias, cpb_mlp.2.weight)",
                                    o.cpb, prefix, names[i]));
        }
        *parts[i] = file.read_float32(*entry);
    }
    check_cpb_mlp(mlp, fmt::format("--cpb {}", o.cpb));
    if (o.given_heads() && *o.given_heads() != mlp.heads()) {
        throw UsageError(
            fmt::format("--heads {}: the --cpb MLP has {} heads", *o.given_heads(), mlp.heads()));
    }
    int64_t ph = 0;
    int64_t pw = 0;
    if (!o.pretrained_window.empty()) {
        bool two_d = false;
        try {
            parse_window(o.pretrained_window, ph, pw, two_d);
        } catch (const UsageError&) {
            throw UsageError(fmt::format("--pretrained-window {}: expected HxW or W, e.g. 8x8",
                                         o.pretrained_window));
        }
    }
    return cpb_table(mlp, scheme.window_h, scheme.window_w, ph, pw);
}

} // namespace

std::optional<int64_t> TableOptions::given_heads() const {
    if (heads_option && heads_option->count() > 0) {
        return heads;
    }
    return std::nullopt;
}

void add_table_options(CLI::App& command, TableOptions& o, bool with_init) {
    auto* group = command.add_option_group("Table options");
    o.heads_option = group
                         ->add_option("--heads", o.heads,
                                      "Heads (a --table file decides "
                                      "when not given)")
                         ->capture_default_str();
    group->add_option("--table", o.table,
                      "Table from .npy or .safetensors, FILE[:NAME]; (entries, heads) or "
                      "(heads, entries)");
    group
        ->add_option("--table-layout", o.layout,
                     "auto | entries-heads | heads-entries: how --table stores the table")
        ->capture_default_str();
    if (with_init) {
        group->add_option("--init", o.init, "trunc-normal | normal | zeros, without --table")
            ->capture_default_str();
        group->add_option("--std", o.std, "Init standard deviation")->capture_default_str();
        group->add_option("--cpb", o.cpb,
                          "Swin V2 continuous bias: FILE:PREFIX of a block with cpb_mlp.* "
                          "(table = 16 * sigmoid(mlp(coords)))");
        group->add_option("--pretrained-window", o.pretrained_window,
                          "--cpb: the window that normalises the coordinates, HxW (default: "
                          "the window)");
    }
    group->add_option("--seed", o.seed, "Random seed: same seed, same bytes everywhere")
        ->capture_default_str();
}

FloatTensor resolve_table(const TableOptions& o, const Scheme& scheme) {
    const TableLayout layout = parse_table_layout(o.layout);
    if (o.heads_option && o.heads_option->count() > 0 && (o.heads < 1 || o.heads > 4096)) {
        throw UsageError(
            fmt::format("--heads {} is out of range: expected an integer from 1 to 4096", o.heads));
    }
    if (!o.cpb.empty()) {
        return cpb_from_file(o, scheme);
    }
    if (!o.pretrained_window.empty()) {
        throw UsageError("--pretrained-window goes with --cpb");
    }
    if (!o.table.empty()) {
        return load_table(parse_table_spec(o.table), scheme, o.given_heads(), layout);
    }
    if (!std::isfinite(o.std) || o.std < 0) {
        throw UsageError(fmt::format("--std {}: expected a finite number >= 0", o.std));
    }
    return init_table(scheme.num_entries(), o.heads, parse_table_init(o.init),
                      static_cast<float>(o.std), o.seed);
}

Scheme scheme_for_table(const TableOptions& o, const SchemeOptions& options) {
    Scheme scheme = make_scheme(options);
    if (o.cpb.empty() || scheme_options_given(options)) {
        return scheme;
    }
    const TableSpec spec = parse_table_spec(o.cpb);
    const SafetensorsFile file(spec.path);
    std::string name = spec.name;
    if (!name.empty() && name.back() != '.') {
        name += '.';
    }
    name += "cpb_mlp.0.weight";
    if (file.find(name) == nullptr) {
        return scheme; // cpb_from_file names what is missing
    }
    const CheckpointBias bias = bias_of(file, name);
    if (!bias.resolved) {
        throw UsageError(fmt::format("--cpb {}: the block has no relative_position_index or "
                                     "relative_coords_table to tell its window: give --window HxW",
                                     o.cpb));
    }
    return bias.scheme;
}

void save_table(const std::string& path, const FloatTensor& table, SchemeType type) {
    auto ends_with = [&](std::string_view suffix) {
        return path.size() >= suffix.size() && path.ends_with(suffix);
    };
    std::string bytes;
    if (ends_with(".npy")) {
        bytes = npy_bytes(table);
    } else if (ends_with(".safetensors")) {
        bytes = safetensors_bytes({{std::string(table_tensor_name(type)), table}});
    } else {
        throw UsageError(fmt::format(
            "--save-table {}: expected a file name ending in .npy or .safetensors", path));
    }
    OutputFile out(path);
    out.write(bytes);
    out.commit();
}

} // namespace rpb::cli
