#include "rpb/checkpoint_attention.hpp"

#include "checkpoint_names.hpp"
#include "format_io.hpp"
#include "rpb/error.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace rpb {

namespace {

std::string names_under(const SafetensorsFile& file, const std::string& prefix) {
    std::string list;
    int64_t total = 0;
    for (const auto& e : file.entries()) {
        if (e.name.compare(0, prefix.size(), prefix) == 0) {
            if (++total <= 16) {
                list += (list.empty() ? "" : ", ") + detail::printable(e.name);
            }
        }
    }
    if (total > 16) {
        list += fmt::format(", ... ({} in all)", total);
    }
    if (total == 0) {
        return "no tensor starts with it";
    }
    // The blocks under the prefix say best what was meant.
    std::string blocks;
    int64_t count = 0;
    for (const std::string& block : detail::attention_blocks(file)) {
        if ((block + ".").compare(0, prefix.size(), prefix) == 0 && ++count <= 8) {
            blocks += (blocks.empty() ? "" : ", ") + detail::printable(block);
        }
    }
    if (count > 8) {
        blocks += fmt::format(", ... ({} in all)", count);
    }
    return count > 0 ? "attention blocks under it: " + blocks : "found: " + list;
}

class Loader {
public:
    Loader(const SafetensorsFile& file) : file_(file) {}

    const SafetensorsFile::Entry& entry(const std::string& name) const {
        const auto* e = file_.find(name);
        if (e == nullptr) {
            throw Error(fmt::format("{}: no tensor '{}'", file_.origin(), detail::printable(name)));
        }
        return *e;
    }
    FloatTensor get(const std::string& name, const Shape& shape) const {
        const auto& e = entry(name);
        if (e.shape != shape) {
            throw Error(fmt::format("{}: {} has shape {}, expected {}", file_.origin(),
                                    detail::printable(name), shape_string(e.shape),
                                    shape_string(shape)));
        }
        return file_.read_float32(e);
    }
    // Copies tensor `name` (of `count` values) into `out`, or leaves zeros when `name` is "".
    void copy(const std::string& name, const Shape& shape, float* out) const {
        if (name.empty()) {
            return;
        }
        const FloatTensor t = get(name, shape);
        std::copy_n(t.data(), t.size(), out);
    }

private:
    const SafetensorsFile& file_;
};

std::optional<int64_t> config_heads(const SafetensorsFile& file) {
    auto it = file.metadata().find("rpbtool.config");
    if (it == file.metadata().end()) {
        return std::nullopt;
    }
    try {
        return nlohmann::json::parse(it->second).at("num_heads").get<int64_t>();
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

} // namespace

CheckpointAttention load_attention(const SafetensorsFile& file, const std::string& prefix_in,
                                   std::optional<int64_t> embed_dim, std::optional<int64_t> heads) {
    std::string prefix = prefix_in;
    while (!prefix.empty() && prefix.back() == '.') {
        prefix.pop_back();
    }
    const std::string dir = prefix.empty() ? "" : prefix + ".";
    const detail::Projections p = detail::projections_at(file, dir);
    if (p.family.empty()) {
        throw Error(fmt::format("{}: no attention block at prefix '{}': expected qkv.weight "
                                "(timm, torchvision), q/k/v.weight (HF T5), "
                                "{{self,attention}}.query.weight (HF Swin, BEiT) or "
                                "q_proj.weight (torchscale, zeta) under it; {}",
                                file.origin(), detail::printable(prefix), names_under(file, dir)));
    }
    const Loader load(file);
    CheckpointAttention a;
    a.prefix = prefix;
    a.family = p.family;
    const std::string& first = p.family == "qkv" ? p.qkv_weight : p.q_weight;
    const Shape& first_shape = load.entry(first).shape;
    const int64_t file_e = first_shape.size() == 2 ? first_shape[1] : 0;
    const int64_t e = embed_dim.value_or(file_e);
    if (e < 1) {
        throw Error(fmt::format("{}: {} has shape {}, expected a matrix (out, in)", file.origin(),
                                detail::printable(first), shape_string(first_shape)));
    }
    a.embed_dim = e;
    AttentionWeights& w = a.weights;
    w.qkv_bias = FloatTensor({3 * e});
    w.proj_bias = FloatTensor({e});
    if (p.family == "qkv") {
        w.qkv_weight = load.get(p.qkv_weight, {3 * e, e});
        if (!p.qkv_bias.empty()) {
            w.qkv_bias = load.get(p.qkv_bias, {3 * e});
        } else {
            load.copy(p.q_bias, {e}, w.qkv_bias.data());
            load.copy(p.v_bias, {e}, w.qkv_bias.data() + 2 * e);
        }
    } else {
        w.qkv_weight = FloatTensor({3 * e, e});
        load.copy(p.q_weight, {e, e}, w.qkv_weight.data());
        load.copy(p.k_weight, {e, e}, w.qkv_weight.data() + e * e);
        load.copy(p.v_weight, {e, e}, w.qkv_weight.data() + 2 * e * e);
        load.copy(p.q_bias_split, {e}, w.qkv_bias.data());
        load.copy(p.k_bias, {e}, w.qkv_bias.data() + e);
        load.copy(p.v_bias_split, {e}, w.qkv_bias.data() + 2 * e);
    }
    if (p.o_weight.empty()) {
        throw Error(fmt::format("{}: the attention block '{}' ({}) has no output projection; {}",
                                file.origin(), detail::printable(prefix), p.family,
                                names_under(file, dir)));
    }
    w.proj_weight = load.get(p.o_weight, {e, e});
    load.copy(p.o_bias, {e}, w.proj_bias.data());

    const std::string table = detail::table_for_block(file, prefix);
    std::optional<int64_t> table_heads;
    if (!table.empty()) {
        a.bias = bias_of(file, table);
        table_heads = a.bias->heads;
        if (a.bias->kind == BiasKind::cpb) {
            const std::string mlp = table.substr(0, table.size() - std::string("0.weight").size());
            a.swin_v2 = true;
            a.cpb.w0 = file.read_float32(load.entry(mlp + "0.weight"));
            a.cpb.b0 = file.read_float32(load.entry(mlp + "0.bias"));
            a.cpb.w2 = file.read_float32(load.entry(mlp + "2.weight"));
            const std::string scale = dir + "logit_scale";
            if (file.find(scale) == nullptr) {
                throw Error(fmt::format("{}: the Swin V2 block '{}' has no {}", file.origin(),
                                        detail::printable(prefix), detail::printable(scale)));
            }
            a.logit_scale = file.read_float32(load.entry(scale));
        } else {
            w.table = file.read_float32(load.entry(table));
        }
    }
    a.heads = heads ? *heads : table_heads.value_or(config_heads(file).value_or(0));
    if (a.heads > 0 && e % a.heads != 0) {
        throw UsageError(fmt::format("{}: embed dim {} of '{}' is not divisible by {} heads",
                                     file.origin(), e, detail::printable(prefix), a.heads));
    }
    if (table_heads && a.heads > 0 && *table_heads != a.heads) {
        throw Error(fmt::format("{}: {} has {} heads, but {} were asked for", file.origin(),
                                detail::printable(table), *table_heads, a.heads));
    }
    return a;
}

} // namespace rpb
