#include "attention_internal.hpp"
#include "rpb/array.hpp"
#include "rpb/attention.hpp"
#include "rpb/cpu.hpp"
#include "rpb/error.hpp"
#include "rpb/random.hpp"
#include "rpb/table.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numbers>

namespace rpb {
namespace {

void check_divisible(int64_t embed_dim, int64_t heads) {
    if (heads <= 0) {
        throw UsageError(fmt::format("heads must be positive, got {}", heads));
    }
    if (embed_dim <= 0 || embed_dim % heads != 0) {
        throw UsageError(fmt::format(
            "embed dim {} is not divisible by {} heads (accepted: a positive multiple of {})",
            embed_dim, heads, heads));
    }
}

void check_shape(const FloatTensor& t, const Shape& expected, std::string_view name) {
    if (t.shape() != expected) {
        throw Error(fmt::format("{} has shape {}, expected {}", name, shape_string(t.shape()),
                                shape_string(expected)));
    }
}

void check_finite(const FloatTensor& t, std::string_view name) {
    if (const int64_t i = first_non_finite(t.data(), t.size()); i < t.size()) {
        throw Error(
            fmt::format("{} holds a non-finite value ({}) at flat index {}", name, t[i], i));
    }
}

// splitmix64 (Steele, Lea, Flood 2014): tiny, fully specified, the same on every platform.
// Private to attention weights; tables for `bias` have their own initialiser.
std::string with_dot(const std::string& prefix) {
    if (prefix.empty() || prefix.back() == '.') {
        return prefix;
    }
    return prefix + ".";
}

std::string names_under(const std::map<std::string, FloatTensor>& tensors,
                        const std::string& prefix) {
    std::string list;
    int shown = 0;
    int total = 0;
    for (const auto& entry : tensors) {
        if (entry.first.compare(0, prefix.size(), prefix) != 0) {
            continue;
        }
        ++total;
        if (shown < 24) {
            list += fmt::format("{}{}", shown ? ", " : "", entry.first);
            ++shown;
        }
    }
    if (total == 0) {
        return prefix.empty() ? "the file holds no tensors"
                              : fmt::format("no tensor name starts with '{}'", prefix);
    }
    if (total > shown) {
        list += fmt::format(", ... ({} in all)", total);
    }
    return "found: " + list;
}

} // namespace

void validate_weights(const AttentionWeights& w, int64_t embed_dim, int64_t heads,
                      int64_t entries) {
    check_divisible(embed_dim, heads);
    const int64_t e = embed_dim;
    check_shape(w.qkv_weight, {3 * e, e}, "qkv weight");
    check_shape(w.qkv_bias, {3 * e}, "qkv bias");
    check_shape(w.proj_weight, {e, e}, "proj weight");
    check_shape(w.proj_bias, {e}, "proj bias");
    check_shape(w.table, {entries, heads}, "relative position bias table");
    check_finite(w.qkv_weight, "qkv weight");
    check_finite(w.qkv_bias, "qkv bias");
    check_finite(w.proj_weight, "proj weight");
    check_finite(w.proj_bias, "proj bias");
    check_finite(w.table, "relative position bias table");
}

AttentionWeights weights_from_tensors(const std::map<std::string, FloatTensor>& tensors,
                                      const std::string& prefix, int64_t embed_dim, int64_t heads,
                                      int64_t entries, bool require_table) {
    check_divisible(embed_dim, heads);
    const std::string p = with_dot(prefix);
    const int64_t e = embed_dim;
    auto find = [&](const std::string& name) -> const FloatTensor* {
        auto it = tensors.find(p + name);
        return it == tensors.end() ? nullptr : &it->second;
    };
    auto need = [&](const std::string& name, const Shape& shape) -> const FloatTensor& {
        const FloatTensor* t = find(name);
        if (t == nullptr) {
            throw Error(
                fmt::format("weights have no tensor '{}'; {}", p + name, names_under(tensors, p)));
        }
        check_shape(*t, shape, p + name);
        return *t;
    };

    AttentionWeights w;
    w.qkv_bias = FloatTensor({3 * e});
    w.proj_bias = FloatTensor({e});
    std::string table_name;
    if (find("qkv.weight") != nullptr) {
        w.qkv_weight = need("qkv.weight", {3 * e, e});
        if (find("qkv.bias") != nullptr) {
            w.qkv_bias = need("qkv.bias", {3 * e});
        } else if (find("q_bias") != nullptr || find("v_bias") != nullptr) {
            const FloatTensor& qb = need("q_bias", {e});
            const FloatTensor& vb = need("v_bias", {e});
            std::copy(qb.values().begin(), qb.values().end(), w.qkv_bias.data());
            std::copy(vb.values().begin(), vb.values().end(), w.qkv_bias.data() + 2 * e);
        }
        w.proj_weight = need("proj.weight", {e, e});
        w.proj_bias = need("proj.bias", {e});
        table_name = "relative_position_bias_table";
    } else if (find("q.weight") != nullptr) {
        w.qkv_weight = FloatTensor({3 * e, e});
        const char* parts[] = {"q.weight", "k.weight", "v.weight"};
        for (int64_t part = 0; part < 3; ++part) {
            const FloatTensor& t = need(parts[part], {e, e});
            std::copy(t.values().begin(), t.values().end(), w.qkv_weight.data() + part * e * e);
        }
        w.proj_weight = need("o.weight", {e, e});
        table_name = "relative_attention_bias.weight";
    } else {
        throw Error(fmt::format("weights have neither '{}qkv.weight' (swin/timm) nor "
                                "'{}q.weight' (t5); {}",
                                p, p, names_under(tensors, p)));
    }
    if (require_table || find(table_name) != nullptr) {
        w.table = need(table_name, {entries, heads});
    }
    check_finite(w.qkv_weight, "qkv weight");
    check_finite(w.qkv_bias, "qkv bias");
    check_finite(w.proj_weight, "proj weight");
    check_finite(w.proj_bias, "proj bias");
    check_finite(w.table, "relative position bias table");
    return w;
}

AttentionWeights init_weights(int64_t embed_dim, int64_t heads, int64_t entries, uint64_t seed) {
    check_divisible(embed_dim, heads);
    if (entries <= 0) {
        throw UsageError(fmt::format("table entries must be positive, got {}", entries));
    }
    const int64_t e = embed_dim;
    const float bound = 1.0f / std::sqrt(static_cast<float>(e));
    // One draw of the weights stream covers the four linear tensors in order; the table is
    // exactly what `rpbtool bias --seed` initialises, so both commands agree on it.
    AttentionWeights w{FloatTensor({3 * e, e}), FloatTensor({3 * e}), FloatTensor({e, e}),
                       FloatTensor({e}),
                       init_table(entries, heads, TableInit::trunc_normal, 0.02f, seed)};
    FloatTensor* linear[] = {&w.qkv_weight, &w.qkv_bias, &w.proj_weight, &w.proj_bias};
    int64_t count = 0;
    for (const FloatTensor* t : linear) {
        count += t->size();
    }
    const std::vector<float> values =
        uniform_values(seed, count, -bound, bound, random_stream::weights);
    auto next = values.begin();
    for (FloatTensor* t : linear) {
        std::copy_n(next, t->size(), t->data());
        next += t->size();
    }
    return w;
}

namespace detail {

AttentionDims check_attention_setup(const Shape& x_shape, const AttentionWeights& weights,
                                    const EntryIndex& index, const AttentionConfig& config) {
    // Here, on the calling thread: a bad RPB_KERNEL_PATH must throw before any worker starts.
    kernel_path();
    if (x_shape.size() != 3) {
        throw Error(fmt::format("attention input has shape {}, expected (batch, tokens, "
                                "embed_dim)",
                                shape_string(x_shape)));
    }
    AttentionDims dims;
    dims.batch = x_shape[0];
    dims.tokens = x_shape[1];
    dims.embed = x_shape[2];
    dims.heads = config.heads;
    check_divisible(dims.embed, dims.heads);
    dims.head_dim = dims.embed / dims.heads;
    if (dims.batch <= 0 || dims.tokens <= 0) {
        throw Error(fmt::format("attention input has shape {}, expected at least one token",
                                shape_string(x_shape)));
    }
    if (index.rows() != dims.tokens || index.cols() != dims.tokens) {
        throw Error(fmt::format("attention input has {} tokens but the position scheme maps "
                                "{} queries to {} keys (self-attention needs both equal to {})",
                                dims.tokens, index.rows(), index.cols(), dims.tokens));
    }
    validate_weights(weights, dims.embed, dims.heads, index.num_entries());
    dims.scale = config.scale ? *config.scale : 1.0f / std::sqrt(static_cast<float>(dims.head_dim));
    if (!std::isfinite(dims.scale)) {
        throw UsageError(fmt::format("scale must be finite, got {}", dims.scale));
    }
    return dims;
}

AttentionDims check_attention_inputs(const FloatTensor& x, const AttentionWeights& weights,
                                     const EntryIndex& index, const AttentionConfig& config) {
    const AttentionDims dims = check_attention_setup(x.shape(), weights, index, config);
    check_finite_input(x.data(), x.size(), 0);
    return dims;
}

void check_heads(const AttentionDims& dims, const std::vector<int64_t>& heads) {
    for (const int64_t h : heads) {
        if (h < 0 || h >= dims.heads) {
            throw UsageError(
                fmt::format("head {} is out of range: expected 0 to {}", h, dims.heads - 1));
        }
    }
}

void check_finite_input(const float* values, int64_t count, int64_t flat_offset) {
    if (const int64_t i = first_non_finite(values, count); i < count) {
        throw Error(fmt::format("attention input holds a non-finite value ({}) at flat index {}",
                                values[i], flat_offset + i));
    }
}

} // namespace detail
} // namespace rpb
