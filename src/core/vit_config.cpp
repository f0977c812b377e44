// The ViT's configuration: names, validation, and its JSON form in model files.
#include "rpb/error.hpp"
#include "rpb/vit.hpp"

#include <cmath>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace rpb {

namespace {

const std::vector<std::pair<PositionKind, std::string>> position_names = {
    {PositionKind::rpb_2d, "rpb-2d"},
    {PositionKind::rpb_1d, "rpb-1d"},
    {PositionKind::t5, "t5"},
    {PositionKind::ape, "ape"},
    {PositionKind::none, "none"}};

} // namespace

std::string position_name(PositionKind pos) {
    for (const auto& [kind, name] : position_names) {
        if (kind == pos) {
            return name;
        }
    }
    return "?";
}

std::string pool_name(PoolKind pool) {
    return pool == PoolKind::cls ? "cls" : "mean";
}

PositionKind parse_position(const std::string& name) {
    for (const auto& [kind, n] : position_names) {
        if (n == name) {
            return kind;
        }
    }
    throw UsageError(fmt::format("--pos: '{}' is not a position scheme (accepted: rpb-2d, rpb-1d, "
                                 "t5, ape, none)",
                                 name));
}

PoolKind parse_pool(const std::string& name) {
    if (name == "cls") {
        return PoolKind::cls;
    }
    if (name == "mean") {
        return PoolKind::mean;
    }
    throw UsageError(fmt::format("--pool: '{}' is not a pooling (accepted: cls, mean)", name));
}

Scheme ViTConfig::scheme() const {
    Scheme s;
    switch (pos) {
    case PositionKind::rpb_2d:
        s.type = SchemeType::window2d;
        s.window_h = grid_h();
        s.window_w = grid_w();
        s.cls_token = pool == PoolKind::cls;
        break;
    case PositionKind::rpb_1d:
        s.type = SchemeType::window1d;
        s.window_w = tokens();
        break;
    default:
        s.type = SchemeType::t5;
        s.t5.num_buckets = num_buckets;
        s.t5.max_distance = max_distance;
        s.t5.bidirectional = true;
        s.qlen = tokens();
        s.klen = tokens();
        break;
    }
    return s;
}

int64_t ViTConfig::table_entries() const {
    return has_table() ? scheme().num_entries() : 0;
}

void ViTConfig::validate() const {
    const std::pair<const char*, int64_t> sizes[] = {
        {"--in-chans", in_chans}, {"--patch", patch},         {"image height", image_h},
        {"image width", image_w}, {"--embed-dim", embed_dim}, {"--depth", depth},
        {"--heads", heads},       {"--mlp-dim", mlp_dim},     {"classes", num_classes}};
    for (const auto& [what, value] : sizes) {
        if (value <= 0) {
            throw UsageError(fmt::format("{} must be a positive integer, not {}", what, value));
        }
    }
    if (image_h % patch != 0 || image_w % patch != 0) {
        throw UsageError(fmt::format("--patch {} does not divide the {}x{} image (accepted: a "
                                     "divisor of both sides)",
                                     patch, image_h, image_w));
    }
    if (embed_dim % heads != 0) {
        throw UsageError(fmt::format("--heads {} does not divide --embed-dim {} (accepted: a "
                                     "divisor of the width)",
                                     heads, embed_dim));
    }
    // Sizes a 2-core machine can hold: keeps every product below far from overflow.
    if (embed_dim > 65536 || mlp_dim > 262144 || depth > 1024 || image_h > 4096 || image_w > 4096 ||
        in_chans > 64 || num_classes > 100000) {
        throw UsageError(fmt::format("the architecture is too large (embed-dim {}, mlp-dim {}, "
                                     "depth {}, image {}x{}x{}, {} classes)",
                                     embed_dim, mlp_dim, depth, in_chans, image_h, image_w,
                                     num_classes));
    }
    if (tokens() > 4096) {
        throw UsageError(fmt::format("{} tokens per image is too many (at most 4096: use a larger "
                                     "--patch)",
                                     tokens()));
    }
    if (pos == PositionKind::t5) {
        scheme().validate();
    }
    if (static_cast<int64_t>(mean.size()) != in_chans ||
        static_cast<int64_t>(std.size()) != in_chans) {
        throw UsageError(fmt::format("mean and std need one value per channel ({}), not {} and {}",
                                     in_chans, mean.size(), std.size()));
    }
    for (float s : std) {
        if (!(s > 0.0f) || !std::isfinite(s)) {
            throw UsageError(fmt::format("std {} is not a positive number", s));
        }
    }
    for (float m : mean) {
        if (!std::isfinite(m)) {
            throw UsageError(fmt::format("mean {} is not a finite number", m));
        }
    }
    if (!classes.empty() && static_cast<int64_t>(classes.size()) != num_classes) {
        throw UsageError(fmt::format("{} class names for {} classes", classes.size(), num_classes));
    }
}

std::string config_to_json(const ViTConfig& c) {
    nlohmann::ordered_json j;
    j["in_chans"] = c.in_chans;
    j["image_size"] = {c.image_h, c.image_w};
    j["patch_size"] = c.patch;
    j["num_classes"] = c.num_classes;
    j["embed_dim"] = c.embed_dim;
    j["depth"] = c.depth;
    j["num_heads"] = c.heads;
    j["mlp_dim"] = c.mlp_dim;
    j["pos"] = position_name(c.pos);
    j["pool"] = pool_name(c.pool);
    j["num_buckets"] = c.num_buckets;
    j["max_distance"] = c.max_distance;
    // float -> double exactly; readers round back to the same float.
    std::vector<double> mean(c.mean.begin(), c.mean.end());
    std::vector<double> std_(c.std.begin(), c.std.end());
    j["mean"] = mean;
    j["std"] = std_;
    j["classes"] = c.classes;
    return j.dump();
}

ViTConfig config_from_json(const std::string& text, const std::string& origin) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception&) {
        throw Error(fmt::format("{}: rpbtool.config is not valid JSON", origin));
    }
    if (!j.is_object()) {
        throw Error(fmt::format("{}: rpbtool.config is not a JSON object", origin));
    }
    auto need = [&](const char* key) -> const nlohmann::json& {
        const auto it = j.find(key);
        if (it == j.end()) {
            throw Error(fmt::format("{}: rpbtool.config has no '{}'", origin, key));
        }
        return *it;
    };
    auto integer = [&](const char* key) {
        const nlohmann::json& v = need(key);
        if (!v.is_number_integer()) {
            throw Error(fmt::format("{}: rpbtool.config '{}' must be an integer", origin, key));
        }
        return v.get<int64_t>();
    };
    auto floats = [&](const char* key) {
        const nlohmann::json& v = need(key);
        std::vector<float> out;
        if (!v.is_array()) {
            throw Error(
                fmt::format("{}: rpbtool.config '{}' must be a list of numbers", origin, key));
        }
        for (const auto& x : v) {
            if (!x.is_number()) {
                throw Error(
                    fmt::format("{}: rpbtool.config '{}' must be a list of numbers", origin, key));
            }
            out.push_back(static_cast<float>(x.get<double>()));
        }
        return out;
    };
    auto text_of = [&](const char* key) {
        const nlohmann::json& v = need(key);
        if (!v.is_string()) {
            throw Error(fmt::format("{}: rpbtool.config '{}' must be a string", origin, key));
        }
        return v.get<std::string>();
    };
    ViTConfig c;
    try {
        c.in_chans = integer("in_chans");
        const nlohmann::json& size = need("image_size");
        if (!size.is_array() || size.size() != 2 || !size[0].is_number_integer() ||
            !size[1].is_number_integer()) {
            throw Error(
                fmt::format("{}: rpbtool.config 'image_size' must be [height, width]", origin));
        }
        c.image_h = size[0].get<int64_t>();
        c.image_w = size[1].get<int64_t>();
        c.patch = integer("patch_size");
        c.num_classes = integer("num_classes");
        c.embed_dim = integer("embed_dim");
        c.depth = integer("depth");
        c.heads = integer("num_heads");
        c.mlp_dim = integer("mlp_dim");
        c.pos = parse_position(text_of("pos"));
        c.pool = parse_pool(text_of("pool"));
        c.num_buckets = integer("num_buckets");
        c.max_distance = integer("max_distance");
        c.mean = floats("mean");
        c.std = floats("std");
        const nlohmann::json& names = need("classes");
        if (!names.is_array()) {
            throw Error(
                fmt::format("{}: rpbtool.config 'classes' must be a list of names", origin));
        }
        for (const auto& n : names) {
            if (!n.is_string()) {
                throw Error(
                    fmt::format("{}: rpbtool.config 'classes' must be a list of names", origin));
            }
            c.classes.push_back(n.get<std::string>());
        }
        c.validate();
    } catch (const UsageError& e) {
        throw Error(fmt::format("{}: rpbtool.config: {}", origin, e.what()));
    }
    return c;
}

} // namespace rpb
