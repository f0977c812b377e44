#include "rpb/checkpoint.hpp"
#include "rpb/checkpoint_attention.hpp"
#include "rpb/error.hpp"
#include "rpb/safetensors.hpp"
#include "rpb/safetensors_file.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <string>

using namespace rpb;

namespace {

const std::string zoo = std::string(RPB_TEST_DATA_DIR) + "/golden/zoo/";

// A temporary .safetensors file of float32 tensors.
struct TempFile {
    std::string path;
    explicit TempFile(const std::vector<std::pair<std::string, FloatTensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {})
        : path((std::filesystem::temp_directory_path() /
                ("rpb_test_" + std::to_string(reinterpret_cast<uintptr_t>(this)) + ".st"))
                   .string()) {
        std::ofstream(path, std::ios::binary) << safetensors_bytes(tensors, metadata);
    }
    ~TempFile() { std::filesystem::remove(path); }
};

} // namespace

TEST_CASE("rpb::SafetensorsFile maps a checkpoint and reads one tensor") {
    const SafetensorsFile file(zoo + "tv_swin.safetensors");
    CHECK(file.entries().size() == 67);
    const auto* index = file.find("features.1.0.attn.relative_position_index");
    REQUIRE(index != nullptr);
    CHECK(index->dtype == DType::i64);
    CHECK(index->shape == Shape{2401});
    CHECK(file.find("features.1.0.attn.nope") == nullptr);
    const FloatTensor t =
        file.read_float32(*file.find("features.1.0.attn.relative_position_bias_table"));
    CHECK(t.shape() == Shape{169, 2});
    // the same bytes as the whole-file parser
    const TensorMap all = read_safetensors(zoo + "tv_swin.safetensors");
    CHECK(file.read(*index).bytes == all.at(index->name).bytes);
}

TEST_CASE("rpb::SafetensorsFile validates as parse_safetensors does") {
    CHECK_THROWS_WITH_AS(SafetensorsFile("/nonexistent/x.safetensors"),
                         "/nonexistent/x.safetensors: cannot open: no such file or directory",
                         Error);
    const std::string path = (std::filesystem::temp_directory_path() / "rpb_trunc.st").string();
    std::ofstream(path, std::ios::binary) << std::string("\x10\0\0\0\0\0\0\0{}", 10);
    CHECK_THROWS_WITH_AS(SafetensorsFile{path},
                         (path + ": safetensors header size 16 exceeds "
                                 "the file (10 bytes)")
                             .c_str(),
                         Error);
    std::filesystem::remove(path);
}

TEST_CASE("rpb::find_biases on every family") {
    const auto swin = find_biases(SafetensorsFile(zoo + "tv_swin.safetensors"));
    REQUIRE(swin.size() == 4);
    CHECK(swin[0].prefix == "features.1.0.attn");
    CHECK(swin[0].source == "index");
    CHECK(swin[0].scheme.window_h == 7);
    CHECK(swin[3].heads == 4);
    CHECK(swin[0].attention == "qkv");

    const auto t5 = find_biases(SafetensorsFile(zoo + "hf_t5.safetensors"));
    REQUIRE(t5.size() == 2);
    CHECK(t5[0].name.starts_with("decoder."));
    CHECK(!t5[0].scheme.t5.bidirectional);
    CHECK(t5[1].scheme.t5.bidirectional);
    CHECK(t5[1].used_by == 2);
    CHECK(t5[1].attention == "q,k,v");

    const auto v2 = find_biases(SafetensorsFile(zoo + "tv_swin_v2.safetensors"));
    CHECK(v2[0].kind == BiasKind::cpb);
    CHECK(v2[0].entries == 225);
    CHECK(v2[0].stats.min > 0);
    CHECK(v2[0].stats.max < 16);

    const auto beit = find_biases(SafetensorsFile(zoo + "hf_beit.safetensors"));
    CHECK(beit[0].prefix == "beit.encoder.layer.0.attention");
    CHECK(beit[0].scheme.cls_token);
    CHECK(beit[0].attention == "query,key,value");

    const auto vit = find_biases(SafetensorsFile(zoo + "rpbtool_vit.safetensors"));
    CHECK(vit[0].source == "config");
    CHECK(vit[0].scheme.window_h == 4);
}

TEST_CASE("rpb::find_biases from the entry count: square windows, else ambiguous") {
    const TempFile file({{"a.relative_position_bias_table", FloatTensor({732, 2})},
                         {"b.relative_position_bias_table", FloatTensor({15, 2})},
                         {"c.relative_position_bias_table", FloatTensor({2, 2})}});
    const auto biases = find_biases(SafetensorsFile(file.path));
    REQUIRE(biases.size() == 3);
    CHECK(biases[0].resolved);
    CHECK(biases[0].scheme.window_h == 14);
    CHECK(biases[0].scheme.cls_token);
    CHECK(!biases[1].resolved);
    CHECK(biases[1].note == "ambiguous: 15 entries fit 2d 1x8, 2d 2x3, 2d 3x2, 2d 8x1, 1d 8");
    CHECK(biases[2].note == "no window scheme has 2 entries");
}

TEST_CASE("rpb::load_attention across families and table names") {
    const SafetensorsFile tv(zoo + "tv_swin.safetensors");
    const SafetensorsFile hf(zoo + "hf_swin.safetensors");
    const CheckpointAttention a = load_attention(tv, "features.1.0.attn", {}, {});
    const CheckpointAttention b =
        load_attention(hf, "swin.encoder.layers.0.blocks.0.attention", {}, {});
    CHECK(a.family == "qkv");
    CHECK(b.family == "query,key,value");
    CHECK(a.embed_dim == 16);
    CHECK(a.heads == 2);
    CHECK(std::ranges::equal(a.weights.qkv_weight.values(), b.weights.qkv_weight.values()));
    CHECK(std::ranges::equal(a.weights.qkv_bias.values(), b.weights.qkv_bias.values()));
    CHECK(std::ranges::equal(a.weights.proj_weight.values(), b.weights.proj_weight.values()));
    CHECK(std::ranges::equal(a.weights.table.values(), b.weights.table.values()));

    const SafetensorsFile t5(zoo + "hf_t5.safetensors");
    const CheckpointAttention c =
        load_attention(t5, "encoder.block.1.layer.0.SelfAttention", {}, {});
    REQUIRE(c.bias);
    CHECK(c.bias->name == "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");

    // a qkv block with a T5-named table
    const TempFile mixed({{"x.qkv.weight", FloatTensor({12, 4})},
                          {"x.proj.weight", FloatTensor({4, 4})},
                          {"x.relative_attention_bias.weight", FloatTensor({32, 2})}});
    const CheckpointAttention d = load_attention(SafetensorsFile(mixed.path), "x", {}, {});
    CHECK(d.heads == 2);
    CHECK(d.weights.table.shape() == Shape{32, 2});

    CHECK_THROWS_WITH_AS(load_attention(tv, "features.1.0.attn", 32, {}),
                         (zoo + "tv_swin.safetensors: features.1.0.attn.qkv.weight has shape "
                                "(48, 16), expected (96, 32)")
                             .c_str(),
                         Error);
}
