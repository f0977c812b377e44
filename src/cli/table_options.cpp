#include "table_options.hpp"

#include "rpb/error.hpp"
#include "rpb/npy.hpp"
#include "rpb/output_file.hpp"
#include "rpb/safetensors.hpp"
#include "rpb/table.hpp"

#include <cmath>
#include <fmt/format.h>

namespace rpb::cli {

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
    if (!o.table.empty()) {
        return load_table(parse_table_spec(o.table), scheme, o.given_heads(), layout);
    }
    if (!std::isfinite(o.std) || o.std < 0) {
        throw UsageError(fmt::format("--std {}: expected a finite number >= 0", o.std));
    }
    return init_table(scheme.num_entries(), o.heads, parse_table_init(o.init),
                      static_cast<float>(o.std), o.seed);
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
