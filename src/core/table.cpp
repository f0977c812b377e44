#include "rpb/table.hpp"

#include "rpb/error.hpp"
#include "rpb/npy.hpp"
#include "rpb/random.hpp"

#include <array>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <memory>

namespace rpb {
namespace {

// "(entries, heads) = (32, 12) <joiner> (heads, entries) = (12, 32)"
std::string expected_shapes(int64_t entries, std::optional<int64_t> heads,
                            std::string_view joiner) {
    const std::string h = heads ? std::to_string(*heads) : "heads";
    return fmt::format("(entries, heads) = ({}, {}) {} (heads, entries) = ({}, {})", entries, h,
                       joiner, h, entries);
}

// A checkpoint can hold hundreds of tensors: list enough to orient, not the whole file.
std::string list_tensors(const TensorMap& tensors, const std::vector<std::string>& names) {
    constexpr size_t shown = 12;
    std::string list;
    for (size_t i = 0; i < names.size() && i < shown; ++i) {
        list += fmt::format("{}{} {}", i ? ", " : "", names[i],
                            shape_string(tensors.at(names[i]).shape));
    }
    if (names.size() > shown) {
        list += fmt::format(", ... ({} more)", names.size() - shown);
    }
    return list;
}

bool is_regular_file(const std::string& path) {
    std::error_code ec;
    return std::filesystem::is_regular_file(path, ec);
}

enum class TableFile { npy, safetensors, unreadable };

TableFile table_file_kind(const std::string& path) {
    if (path == "-") {
        return TableFile::npy;
    }
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                         &std::fclose);
    if (!file) {
        return TableFile::unreadable;
    }
    std::array<char, 6> magic{};
    const size_t got = std::fread(magic.data(), 1, magic.size(), file.get());
    return got == magic.size() && std::string_view(magic.data(), magic.size()) == "\x93NUMPY"
               ? TableFile::npy
               : TableFile::safetensors;
}

} // namespace

TableInit parse_table_init(std::string_view name) {
    if (name == "trunc-normal") {
        return TableInit::trunc_normal;
    }
    if (name == "normal") {
        return TableInit::normal;
    }
    if (name == "zeros") {
        return TableInit::zeros;
    }
    throw UsageError(
        fmt::format("unknown --init '{}': expected trunc-normal, normal or zeros", name));
}

std::string_view table_init_name(TableInit init) {
    switch (init) {
    case TableInit::trunc_normal:
        return "trunc-normal";
    case TableInit::normal:
        return "normal";
    case TableInit::zeros:
        return "zeros";
    }
    return "?";
}

FloatTensor init_table(int64_t entries, int64_t heads, TableInit init, float std, uint64_t seed) {
    if (entries < 1 || heads < 1) {
        throw UsageError(fmt::format(
            "invalid table shape ({}, {}): expected at least 1 entry and 1 head", entries, heads));
    }
    const Shape shape{entries, heads};
    const int64_t count = shape_size(shape);
    switch (init) {
    case TableInit::trunc_normal:
        return FloatTensor(shape, trunc_normal_values(seed, count, std, random_stream::table));
    case TableInit::normal:
        return FloatTensor(shape, normal_values(seed, count, std, random_stream::table));
    case TableInit::zeros:
        // Validate std all the same: a bad value is a bad option whatever the init.
        (void)normal_values(seed, 0, std);
        return FloatTensor(shape, 0.0F);
    }
    return {};
}

TableLayout parse_table_layout(std::string_view name) {
    if (name == "auto") {
        return TableLayout::auto_detect;
    }
    if (name == "entries-heads") {
        return TableLayout::entries_heads;
    }
    if (name == "heads-entries") {
        return TableLayout::heads_entries;
    }
    throw UsageError(fmt::format(
        "unknown --table-layout '{}': expected auto, entries-heads or heads-entries", name));
}

std::string_view table_layout_name(TableLayout layout) {
    switch (layout) {
    case TableLayout::auto_detect:
        return "auto";
    case TableLayout::entries_heads:
        return "entries-heads";
    case TableLayout::heads_entries:
        return "heads-entries";
    }
    return "?";
}

LayoutFit table_layout_fit(const Shape& shape, int64_t entries, std::optional<int64_t> heads) {
    LayoutFit fit;
    if (shape.size() != 2 || shape[0] < 1 || shape[1] < 1) {
        return fit;
    }
    fit.entries_heads = shape[0] == entries && (!heads || shape[1] == *heads);
    fit.heads_entries = shape[1] == entries && (!heads || shape[0] == *heads);
    return fit;
}

FloatTensor table_from_array(const Array& array, int64_t entries, std::optional<int64_t> heads,
                             TableLayout layout, std::string_view what) {
    const Shape& shape = array.shape;
    const LayoutFit fit = table_layout_fit(shape, entries, heads);
    if (shape.size() != 2) {
        throw Error(fmt::format("table {} has shape {}: expected a 2-D table, {}", what,
                                shape_string(shape), expected_shapes(entries, heads, "or")));
    }
    const bool forced_fits = (layout == TableLayout::entries_heads && fit.entries_heads) ||
                             (layout == TableLayout::heads_entries && fit.heads_entries);
    if (layout != TableLayout::auto_detect && !forced_fits) {
        const bool eh = layout == TableLayout::entries_heads;
        const std::string h = heads ? std::to_string(*heads) : "heads";
        throw Error(fmt::format("table {} has shape {}, which does not fit --table-layout {}: "
                                "expected {}",
                                what, shape_string(shape), table_layout_name(layout),
                                eh ? fmt::format("(entries, heads) = ({}, {})", entries, h)
                                   : fmt::format("(heads, entries) = ({}, {})", h, entries)));
    }
    if (!fit.entries_heads && !fit.heads_entries) {
        std::string hint;
        if (heads && shape[0] > 0 && shape[1] > 0 && (shape[0] == entries || shape[1] == entries)) {
            const int64_t found = shape[0] == entries ? shape[1] : shape[0];
            hint = fmt::format(" (it holds {} heads, not {})", found, *heads);
        }
        throw Error(fmt::format("table {} has shape {}, which fits neither {}{}", what,
                                shape_string(shape), expected_shapes(entries, heads, "nor"), hint));
    }
    if (layout == TableLayout::auto_detect && fit.entries_heads && fit.heads_entries) {
        throw UsageError(fmt::format(
            "table {} has shape {}, which fits both (entries, heads) and (heads, entries): say "
            "which with --table-layout entries-heads or --table-layout heads-entries",
            what, shape_string(shape)));
    }
    const bool transpose = layout == TableLayout::heads_entries ||
                           (layout == TableLayout::auto_detect && !fit.entries_heads);
    FloatTensor values = to_float32(array, what);
    if (!transpose) {
        return values;
    }
    const int64_t num_heads = shape[0];
    FloatTensor table(Shape{entries, num_heads});
    for (int64_t h = 0; h < num_heads; ++h) {
        for (int64_t e = 0; e < entries; ++e) {
            table.at(e, h) = values.at(h, e);
        }
    }
    return table;
}

std::string select_table_tensor(const TensorMap& tensors, std::string_view name, int64_t entries,
                                std::optional<int64_t> heads, std::string_view origin) {
    std::vector<std::string> all;
    for (const auto& [tensor_name, array] : tensors) {
        all.push_back(tensor_name);
    }
    if (all.empty()) {
        throw Error(fmt::format("{} holds no tensors: expected a bias table", origin));
    }
    if (!name.empty()) {
        if (tensors.count(std::string(name)) == 0) {
            throw Error(fmt::format("no tensor '{}' in {}; it holds: {}", name, origin,
                                    list_tensors(tensors, all)));
        }
        return std::string(name);
    }
    std::vector<std::string> candidates;
    for (const auto& [tensor_name, array] : tensors) {
        const LayoutFit fit = table_layout_fit(array.shape, entries, heads);
        if (fit.entries_heads || fit.heads_entries) {
            candidates.push_back(tensor_name);
        }
    }
    const std::string wanted =
        heads ? fmt::format("a table of {} entries and {} heads", entries, *heads)
              : fmt::format("a table of {} entries (2-D with a dimension of {})", entries, entries);
    if (candidates.empty()) {
        throw Error(fmt::format("no tensor in {} fits {}; it holds: {}", origin, wanted,
                                list_tensors(tensors, all)));
    }
    if (candidates.size() > 1) {
        throw Error(fmt::format("{} tensors in {} fit {}: {}; name one as {}:NAME",
                                candidates.size(), origin, wanted,
                                list_tensors(tensors, candidates), origin));
    }
    return candidates.front();
}

TableSpec parse_table_spec(std::string_view spec) {
    const std::string whole(spec);
    if (is_regular_file(whole)) {
        return {whole, ""};
    }
    for (size_t colon = spec.find(':'); colon != std::string_view::npos;
         colon = spec.find(':', colon + 1)) {
        std::string path(spec.substr(0, colon));
        if (is_regular_file(path)) {
            return {std::move(path), std::string(spec.substr(colon + 1))};
        }
    }
    const size_t last = spec.rfind(':');
    if (last == std::string_view::npos) {
        return {whole, ""};
    }
    return {std::string(spec.substr(0, last)), std::string(spec.substr(last + 1))};
}

FloatTensor load_table(const TableSpec& spec, const Scheme& scheme, std::optional<int64_t> heads,
                       TableLayout layout) {
    const int64_t entries = scheme.num_entries();
    const TableFile kind = table_file_kind(spec.path);
    if (kind == TableFile::unreadable) {
        (void)read_npy(spec.path); // throws, naming the path and the reason
    }
    if (kind != TableFile::safetensors) {
        if (!spec.name.empty()) {
            throw UsageError(fmt::format("table {}:{}: a .npy file holds one array; a tensor "
                                         "name applies to .safetensors files only",
                                         spec.path, spec.name));
        }
        return table_from_array(read_npy(spec.path), entries, heads, layout, spec.path);
    }
    const TensorMap tensors = read_safetensors(spec.path);
    const std::string name = select_table_tensor(tensors, spec.name, entries, heads, spec.path);
    return table_from_array(tensors.at(name), entries, heads, layout,
                            fmt::format("{}:{}", spec.path, name));
}

std::string_view table_tensor_name(SchemeType type) {
    return type == SchemeType::t5 ? "relative_attention_bias.weight"
                                  : "relative_position_bias_table";
}

} // namespace rpb
