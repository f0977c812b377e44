#include "checkpoint_names.hpp"

#include <regex>
#include <vector>

namespace rpb::detail {

namespace {

constexpr const char* table_names[] = {
    "relative_position_bias_table",
    "relative_attention_bias.weight",
    "relative_position_bias.relative_position_bias_table",
    "cpb_mlp.0.weight",
};

// Shared tables, looked for in the ancestors of a block, nearest first.
constexpr const char* shared_names[] = {
    "relative_position_bias.relative_position_bias_table",        // HF BEiT/Data2Vec shared
    "rel_pos_bias.relative_position_bias_table",                  // timm BEiT shared
    "relative_position.relative_attention_bias.weight",           // torchscale / zeta encoder
    "self_attn_relative_position.relative_attention_bias.weight", // torchscale decoder
};

bool has(const SafetensorsFile& file, const std::string& name) {
    return file.find(name) != nullptr;
}

std::string if_present(const SafetensorsFile& file, const std::string& name) {
    return has(file, name) ? name : std::string();
}

std::string parent_dir(const std::string& dir) {
    // "a.b.c." -> "a.b."; "a." -> ""
    if (dir.size() < 2) {
        return "";
    }
    const size_t dot = dir.rfind('.', dir.size() - 2);
    return dot == std::string::npos ? "" : dir.substr(0, dot + 1);
}

std::string with_dot(const std::string& prefix) {
    return prefix.empty() || prefix.back() == '.' ? prefix : prefix + ".";
}

bool split_at(const SafetensorsFile& file, Projections& p, const std::string& dir, const char* q,
              const char* k, const char* v, const std::string& o, const char* family) {
    if (!has(file, dir + q + ".weight") || !has(file, dir + k + ".weight") ||
        !has(file, dir + v + ".weight")) {
        return false;
    }
    p.family = family;
    p.q_weight = dir + q + ".weight";
    p.k_weight = dir + k + ".weight";
    p.v_weight = dir + v + ".weight";
    p.q_bias_split = if_present(file, dir + q + ".bias");
    p.k_bias = if_present(file, dir + k + ".bias");
    p.v_bias_split = if_present(file, dir + v + ".bias");
    p.o_weight = if_present(file, o + ".weight");
    p.o_bias = if_present(file, o + ".bias");
    return true;
}

} // namespace

Projections projections_at(const SafetensorsFile& file, const std::string& dir_in) {
    const std::string dir = with_dot(dir_in);
    Projections p;
    if (has(file, dir + "qkv.weight")) {
        p.family = "qkv";
        p.qkv_weight = dir + "qkv.weight";
        p.qkv_bias = if_present(file, dir + "qkv.bias");
        p.q_bias = if_present(file, dir + "q_bias");
        p.v_bias = if_present(file, dir + "v_bias");
        p.o_weight = if_present(file, dir + "proj.weight");
        p.o_bias = if_present(file, dir + "proj.bias");
        return p;
    }
    if (split_at(file, p, dir, "q", "k", "v", dir + "o", "q,k,v") ||
        split_at(file, p, dir, "q_proj", "k_proj", "v_proj", dir + "out_proj",
                 "q_proj,k_proj,v_proj")) {
        return p;
    }
    for (const char* inner : {"self.", "attention."}) {
        if (split_at(file, p, dir + inner, "query", "key", "value", dir + "output.dense",
                     "query,key,value")) {
            return p;
        }
    }
    // The inner HF module itself: its output projection sits beside it.
    if (split_at(file, p, dir, "query", "key", "value", parent_dir(dir) + "output.dense",
                 "query,key,value")) {
        return p;
    }
    return {};
}

std::string block_prefix(const SafetensorsFile& file, const std::string& dir_in) {
    std::string dir = with_dot(dir_in);
    const std::string hf_module = "relative_position_bias.";
    if (dir.ends_with(hf_module)) {
        dir.resize(dir.size() - hf_module.size());
    }
    if ((dir.ends_with(".self.") || dir.ends_with(".attention.")) &&
        has(file, parent_dir(dir) + "output.dense.weight")) {
        dir = parent_dir(dir);
    }
    if (!dir.empty()) {
        dir.pop_back();
    }
    return dir;
}

std::string table_for_block(const SafetensorsFile& file, const std::string& prefix) {
    const std::string p = with_dot(prefix);
    auto own = [&](const std::string& base) -> std::string {
        for (const char* inner : {"", "self.", "attention."}) {
            for (const char* name : table_names) {
                if (has(file, base + inner + name)) {
                    return base + inner + name;
                }
            }
        }
        return "";
    };
    if (std::string t = own(p); !t.empty()) {
        return t;
    }
    // HF T5: only block 0 of each stack holds the table, the others reuse it.
    static const std::regex block_n(R"((^|\.)block\.[0-9]+\.)");
    const std::string block0 =
        std::regex_replace(p, block_n, "$1block.0.", std::regex_constants::format_first_only);
    if (block0 != p) {
        if (std::string t = own(block0); !t.empty()) {
            return t;
        }
    }
    for (std::string a = parent_dir(p);; a = parent_dir(a)) {
        for (const char* name : shared_names) {
            if (has(file, a + name)) {
                return a + name;
            }
        }
        if (a.empty()) {
            return "";
        }
    }
}

std::vector<std::string> attention_blocks(const SafetensorsFile& file) {
    std::vector<std::string> blocks;
    for (const auto& e : file.entries()) {
        for (const char* first : {"qkv.weight", "q.weight", "q_proj.weight", "query.weight"}) {
            const std::string_view suffix = first;
            if (e.name.ends_with(suffix) && (e.name.size() == suffix.size() ||
                                             e.name[e.name.size() - suffix.size() - 1] == '.')) {
                const std::string dir = e.name.substr(0, e.name.size() - suffix.size());
                const std::string block = block_prefix(file, dir);
                if (blocks.empty() || blocks.back() != block) {
                    blocks.push_back(block);
                }
            }
        }
    }
    return blocks;
}

std::map<std::string, int64_t> table_users(const SafetensorsFile& file) {
    std::map<std::string, int64_t> users;
    for (const std::string& block : attention_blocks(file)) {
        if (std::string t = table_for_block(file, block); !t.empty()) {
            ++users[t];
        }
    }
    return users;
}

} // namespace rpb::detail
