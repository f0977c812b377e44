#include "rpb/checkpoint.hpp"

#include "checkpoint_names.hpp"
#include "format_io.hpp"
#include "rpb/error.hpp"
#include "rpb/index.hpp"
#include "rpb/swin_v2.hpp"

#include <cmath>
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

namespace rpb {

namespace {

constexpr std::string_view table_suffix = "relative_position_bias_table";
constexpr std::string_view t5_suffix = "relative_attention_bias.weight";
constexpr std::string_view cpb_suffix = "cpb_mlp.0.weight";

std::string what(const SafetensorsFile& file, const std::string& name) {
    return fmt::format("{}: {}", file.origin(), detail::printable(name, 200));
}

// The window schemes a table of `entries` rows could serve with `tokens` tokens per window
// (tokens = 0: any), most plausible first.
std::vector<Scheme> window_candidates(int64_t entries, int64_t tokens) {
    std::vector<Scheme> out;
    auto add_2d = [&](int64_t spatial, bool cls) {
        for (int64_t h = 1; 2 * h - 1 <= spatial; ++h) {
            if (spatial % (2 * h - 1) != 0 || (spatial / (2 * h - 1)) % 2 == 0) {
                continue;
            }
            const int64_t w = (spatial / (2 * h - 1) + 1) / 2;
            if (tokens == 0 || h * w + (cls ? 1 : 0) == tokens) {
                Scheme s;
                s.type = SchemeType::window2d;
                s.window_h = h;
                s.window_w = w;
                s.cls_token = cls;
                out.push_back(s);
            }
        }
    };
    add_2d(entries, false);
    if (entries > 3) {
        add_2d(entries - 3, true);
    }
    if (entries % 2 == 1 && (tokens == 0 || (entries + 1) / 2 == tokens)) {
        Scheme s;
        s.type = SchemeType::window1d;
        s.window_w = (entries + 1) / 2;
        out.push_back(s);
    }
    return out;
}

std::string scheme_short(const Scheme& s) {
    switch (s.type) {
    case SchemeType::window2d:
        return fmt::format("2d {}x{}{}", s.window_h, s.window_w, s.cls_token ? " +cls" : "");
    case SchemeType::window1d:
        return fmt::format("1d {}", s.window_w);
    case SchemeType::t5:
        break;
    }
    return fmt::format("t5 {}", s.t5.num_buckets);
}

// The scheme a relative_position_index buffer encodes, checked against the table.
Scheme scheme_from_index(const SafetensorsFile& file, const SafetensorsFile::Entry& index,
                         const std::string& table_name, int64_t entries) {
    const IntTensor values = to_int32(file.read(index), what(file, index.name));
    const int64_t count = values.size();
    auto tokens = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(count))));
    const bool square_shape =
        index.shape.size() == 1 || (index.shape.size() == 2 && index.shape[0] == index.shape[1]);
    if (tokens * tokens != count || !square_shape || count == 0) {
        throw Error(fmt::format("{} has shape {}, expected (N*N,) or (N, N) for N tokens",
                                what(file, index.name), shape_string(index.shape)));
    }
    const std::vector<Scheme> candidates = window_candidates(entries, tokens);
    std::string tried;
    for (const Scheme& s : candidates) {
        const EntryIndex map(s);
        int64_t bad = -1;
        for (int64_t i = 0; i < count && bad < 0; ++i) {
            if (map(i / tokens, i % tokens) != values[i]) {
                bad = i;
            }
        }
        if (bad < 0) {
            return s;
        }
        tried += fmt::format("{}{} (differs at token pair ({}, {}): {} vs {})",
                             tried.empty() ? "" : ", ", scheme_short(s), bad / tokens, bad % tokens,
                             values[bad], map(bad / tokens, bad % tokens));
    }
    throw Error(fmt::format("{} does not match the table {} of {} entries: {} tokens per "
                            "window{}{}",
                            what(file, index.name), detail::printable(table_name, 200), entries,
                            tokens, tried.empty() ? " fit no window of that many entries" : "; ",
                            tried));
}

// What an rpbtool model's configuration says of its tables.
struct ConfigScheme {
    Scheme scheme;
    int64_t image_row = 0; // rpb-1d: patches per image row (CheckpointBias::image_row)
};

// rpbtool's own models describe themselves (formats.md "Model files").
std::optional<ConfigScheme> scheme_from_config(const SafetensorsFile& file) {
    auto it = file.metadata().find("rpbtool.config");
    if (it == file.metadata().end()) {
        return std::nullopt;
    }
    try {
        const auto c = nlohmann::json::parse(it->second);
        const std::string pos = c.at("pos");
        const int64_t patch = c.at("patch_size");
        const int64_t gh = c.at("image_size").at(0).get<int64_t>() / patch;
        const int64_t gw = c.at("image_size").at(1).get<int64_t>() / patch;
        const bool cls = c.value("pool", std::string("cls")) == "cls";
        Scheme s;
        int64_t image_row = 0;
        if (pos == "rpb-2d") {
            s.type = SchemeType::window2d;
            s.window_h = gh;
            s.window_w = gw;
            s.cls_token = cls;
        } else if (pos == "rpb-1d") {
            s.type = SchemeType::window1d;
            s.window_w = gh * gw + (cls ? 1 : 0);
            image_row = gw;
        } else if (pos == "t5") {
            s.type = SchemeType::t5;
            s.t5.num_buckets = c.value("num_buckets", int64_t{32});
            s.t5.max_distance = c.value("max_distance", int64_t{128});
            s.qlen = s.klen = gh * gw + (cls ? 1 : 0);
        } else {
            return std::nullopt;
        }
        return ConfigScheme{s, image_row};
    } catch (const std::exception&) {
        throw Error(fmt::format("{}: the \"rpbtool.config\" metadata is not a model "
                                "configuration (formats.md \"Model files\")",
                                file.origin()));
    }
}

// A window table's scheme from its entry count alone.
void scheme_from_entries(CheckpointBias& b) {
    std::vector<Scheme> all = window_candidates(b.entries, 0);
    for (const Scheme& s : all) {
        if (s.type == SchemeType::window2d && s.window_h == s.window_w) {
            // A square window is what every published model uses: (2W-1)^2 (+3) is unique.
            b.scheme = s;
            b.resolved = true;
            b.source = "entries";
            return;
        }
    }
    std::string fits;
    for (const Scheme& s : all) {
        fits += (fits.empty() ? "" : ", ") + scheme_short(s);
    }
    b.note = all.empty() ? fmt::format("no window scheme has {} entries", b.entries)
                         : fmt::format("ambiguous: {} entries fit {}", b.entries, fits);
}

// One bias tensor described, or nothing when `entry` is not one.
std::optional<CheckpointBias> describe(const SafetensorsFile& file,
                                       const SafetensorsFile::Entry& entry,
                                       const std::optional<ConfigScheme>& config,
                                       const std::map<std::string, int64_t>& users) {
    const std::string& name = entry.name;
    CheckpointBias b;
    b.name = name;
    std::string dir;
    if (name.ends_with(table_suffix)) {
        dir = name.substr(0, name.size() - table_suffix.size());
    } else if (name.ends_with(t5_suffix)) {
        dir = name.substr(0, name.size() - t5_suffix.size());
    } else if (name.ends_with(cpb_suffix)) {
        dir = name.substr(0, name.size() - cpb_suffix.size());
        b.kind = BiasKind::cpb;
    } else {
        return std::nullopt;
    }
    if (!dir.empty() && dir.back() != '.') {
        return std::nullopt; // e.g. "my_relative_position_bias_table": no module attribute
    }
    b.prefix = detail::block_prefix(file, dir);
    b.attention = detail::projections_at(file, b.prefix.empty() ? "" : b.prefix + ".").family;
    b.used_by = users.contains(name) ? users.at(name) : 0;

    FloatTensor table;
    if (b.kind == BiasKind::cpb) {
        CpbMlp mlp;
        mlp.w0 = file.read_float32(entry);
        const auto* b0 = file.find(dir + "cpb_mlp.0.bias");
        const auto* w2 = file.find(dir + "cpb_mlp.2.weight");
        if (b0 == nullptr || w2 == nullptr) {
            throw Error(fmt::format("{}: a Swin V2 bias MLP needs {}cpb_mlp.0.bias and "
                                    "{}cpb_mlp.2.weight beside it",
                                    what(file, name), detail::printable(dir, 200),
                                    detail::printable(dir, 200)));
        }
        mlp.b0 = file.read_float32(*b0);
        mlp.w2 = file.read_float32(*w2);
        check_cpb_mlp(mlp, what(file, dir + "cpb_mlp"));
        b.heads = mlp.heads();
        const auto* coords = file.find(dir + "relative_coords_table");
        if (coords != nullptr && coords->shape.size() == 4 && coords->shape[1] % 2 == 1 &&
            coords->shape[2] % 2 == 1) {
            b.entries = coords->shape[1] * coords->shape[2];
            b.scheme.type = SchemeType::window2d;
            b.scheme.window_h = (coords->shape[1] + 1) / 2;
            b.scheme.window_w = (coords->shape[2] + 1) / 2;
            b.resolved = true;
            b.source = "coords";
        }
        if (const auto* index = file.find(dir + "relative_position_index")) {
            b.index_name = index->name;
            const int64_t tokens = static_cast<int64_t>(
                std::llround(std::sqrt(static_cast<double>(shape_size(index->shape)))));
            if (!b.resolved) {
                // Without the coordinate table: a square window of that many tokens.
                const auto w =
                    static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(tokens))));
                b.entries = (2 * w - 1) * (2 * w - 1);
            }
            b.scheme = scheme_from_index(file, *index, name, b.entries);
            b.resolved = true;
            b.source = "index";
        }
        if (b.resolved) {
            table = cpb_table(mlp, b.scheme.window_h, b.scheme.window_w);
        } else {
            b.note = "no relative_position_index or relative_coords_table gives the window";
        }
    } else {
        if (entry.shape.size() != 2 || entry.shape[0] == 0 || entry.shape[1] == 0) {
            throw Error(fmt::format("{} has shape {}, expected a table (entries, heads)",
                                    what(file, name), shape_string(entry.shape)));
        }
        table = file.read_float32(entry);
        b.entries = entry.shape[0];
        b.heads = entry.shape[1];
        const auto* index = file.find(dir + "relative_position_index");
        if (index != nullptr) {
            b.index_name = index->name;
            b.scheme = scheme_from_index(file, *index, name, b.entries);
            b.resolved = true;
            b.source = "index";
        } else if (config && config->scheme.num_entries() == b.entries) {
            b.scheme = config->scheme;
            b.image_row = config->image_row;
            b.resolved = true;
            b.source = "config";
        } else if (name.ends_with(t5_suffix)) {
            b.scheme.type = SchemeType::t5;
            b.scheme.t5.num_buckets = b.entries;
            // Decoder stacks bucket causally (HF T5, torchscale decoders).
            b.scheme.t5.bidirectional = name.find("decoder") == std::string::npos;
            b.resolved = b.entries >= 4;
            b.source = "name";
            if (!b.resolved) {
                b.note = fmt::format("{} buckets is too few for T5 bucketing", b.entries);
            }
        } else {
            scheme_from_entries(b);
        }
    }
    if (table.size() > 0) {
        b.stats = value_stats(table.data(), table.size());
    }
    return b;
}

} // namespace

std::string_view bias_kind_name(BiasKind kind) {
    return kind == BiasKind::cpb ? "cpb" : "table";
}

ValueStats value_stats(const float* values, int64_t count) {
    ValueStats s;
    if (count <= 0) {
        return s;
    }
    s.min = s.max = values[0];
    double sum = 0;
    for (int64_t i = 0; i < count; ++i) {
        s.min = std::min<double>(s.min, values[i]);
        s.max = std::max<double>(s.max, values[i]);
        sum += values[i];
    }
    s.mean = sum / static_cast<double>(count);
    double sq = 0;
    for (int64_t i = 0; i < count; ++i) {
        sq += (values[i] - s.mean) * (values[i] - s.mean);
    }
    s.std = std::sqrt(sq / static_cast<double>(count));
    return s;
}

FloatTensor bias_table(const SafetensorsFile& file, const CheckpointBias& b) {
    if (!b.resolved) {
        throw Error(fmt::format("{}: the scheme is unknown ({})", what(file, b.name), b.note));
    }
    if (b.kind == BiasKind::table) {
        return file.read_float32(*file.find(b.name));
    }
    const std::string dir = b.name.substr(0, b.name.size() - cpb_suffix.size());
    CpbMlp mlp;
    mlp.w0 = file.read_float32(*file.find(b.name));
    mlp.b0 = file.read_float32(*file.find(dir + "cpb_mlp.0.bias"));
    mlp.w2 = file.read_float32(*file.find(dir + "cpb_mlp.2.weight"));
    return cpb_table(mlp, b.scheme.window_h, b.scheme.window_w);
}

std::string projection_family(const SafetensorsFile& file, const std::string& dir) {
    return detail::projections_at(file, dir).family;
}

std::vector<CheckpointBias> find_biases(const SafetensorsFile& file) {
    std::vector<CheckpointBias> out;
    const std::optional<ConfigScheme> config = scheme_from_config(file);
    const std::map<std::string, int64_t> users = detail::table_users(file);
    for (const auto& entry : file.entries()) {
        if (auto b = describe(file, entry, config, users)) {
            out.push_back(std::move(*b));
        }
    }
    return out;
}

CheckpointBias bias_of(const SafetensorsFile& file, const std::string& name) {
    const auto* entry = file.find(name);
    std::optional<CheckpointBias> b;
    if (entry != nullptr) {
        b = describe(file, *entry, scheme_from_config(file), detail::table_users(file));
    }
    if (!b) {
        throw Error(fmt::format("{}: no relative position bias named '{}'", file.origin(),
                                detail::printable(name, 200)));
    }
    return *b;
}

} // namespace rpb
