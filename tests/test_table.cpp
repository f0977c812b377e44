#include "rpb/error.hpp"
#include "rpb/npy.hpp"
#include "rpb/random.hpp"
#include "rpb/safetensors.hpp"
#include "rpb/table.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

rpb::Array f32_array(rpb::Shape shape, const std::vector<float>& values) {
    rpb::Array array;
    array.dtype = rpb::DType::f32;
    array.shape = std::move(shape);
    array.bytes.resize(values.size() * sizeof(float));
    if (!values.empty()) { // memcpy from an empty vector's null data() is undefined
        std::memcpy(array.bytes.data(), values.data(), array.bytes.size());
    }
    return array;
}

// (rows, cols) with value 10 * r + c.
rpb::Array counting_array(int64_t rows, int64_t cols) {
    std::vector<float> values;
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
            values.push_back(static_cast<float>(10 * r + c));
        }
    }
    return f32_array({rows, cols}, values);
}

std::vector<float> values_of(const rpb::FloatTensor& tensor) {
    return {tensor.values().begin(), tensor.values().end()};
}

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        path = std::filesystem::temp_directory_path() /
               ("rpb_test_table_" + std::to_string(::getpid()));
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string write(const std::string& name, const std::string& bytes) const {
        const std::string file = (path / name).string();
        std::ofstream(file, std::ios::binary) << bytes;
        return file;
    }
};

rpb::Scheme t5_scheme(int64_t buckets) {
    rpb::Scheme scheme;
    scheme.t5.num_buckets = buckets;
    scheme.t5.max_distance = 128;
    return scheme;
}

} // namespace

TEST_CASE("rpb::parse_table_init") {
    CHECK(rpb::parse_table_init("trunc-normal") == rpb::TableInit::trunc_normal);
    CHECK(rpb::parse_table_init("normal") == rpb::TableInit::normal);
    CHECK(rpb::parse_table_init("zeros") == rpb::TableInit::zeros);
    CHECK(rpb::table_init_name(rpb::TableInit::trunc_normal) == "trunc-normal");
    CHECK_THROWS_WITH_AS(rpb::parse_table_init("uniform"),
                         "unknown --init 'uniform': expected trunc-normal, normal or zeros",
                         rpb::UsageError);
}

TEST_CASE("rpb::init_table") {
    const auto table = rpb::init_table(3, 2, rpb::TableInit::trunc_normal, 0.02F, 0);
    CHECK(table.shape() == rpb::Shape{3, 2});
    // Value e * heads + h of the documented stream (pinned in test_random.cpp from an
    // independent implementation).
    std::vector<uint32_t> bits;
    for (float v : table.values()) {
        bits.push_back(std::bit_cast<uint32_t>(v));
    }
    CHECK(bits == std::vector<uint32_t>{0xbc145c12, 0x3c8e7b16, 0x3bf006e7, 0x3c042f4d, 0x3bf57956,
                                        0x3c89e34a});

    const auto a = rpb::init_table(169, 12, rpb::TableInit::normal, 0.02F, 5);
    const auto b = rpb::init_table(169, 12, rpb::TableInit::normal, 0.02F, 5);
    const auto c = rpb::init_table(169, 12, rpb::TableInit::normal, 0.02F, 6);
    CHECK(std::memcmp(a.data(), b.data(), 169 * 12 * sizeof(float)) == 0);
    CHECK(values_of(a) != values_of(c));
    CHECK(values_of(rpb::init_table(169, 12, rpb::TableInit::trunc_normal, 0.02F, 5)) !=
          values_of(a));

    const auto big = rpb::init_table(2000, 50, rpb::TableInit::normal, 0.5F, 1);
    double sum_sq = 0;
    for (float v : big.values()) {
        sum_sq += static_cast<double>(v) * v;
    }
    CHECK(std::sqrt(sum_sq / 100000) == doctest::Approx(0.5).epsilon(0.03));

    const auto zeros = rpb::init_table(32, 12, rpb::TableInit::zeros, 0.02F, 3);
    CHECK(values_of(zeros) == std::vector<float>(32 * 12, 0.0F));

    CHECK_THROWS_AS(rpb::init_table(0, 12, rpb::TableInit::normal, 0.02F, 0), rpb::UsageError);
    CHECK_THROWS_AS(rpb::init_table(32, 12, rpb::TableInit::zeros, -1.0F, 0), rpb::UsageError);
}

TEST_CASE("rpb::parse_table_layout") {
    CHECK(rpb::parse_table_layout("auto") == rpb::TableLayout::auto_detect);
    CHECK(rpb::parse_table_layout("entries-heads") == rpb::TableLayout::entries_heads);
    CHECK(rpb::parse_table_layout("heads-entries") == rpb::TableLayout::heads_entries);
    CHECK_THROWS_AS(rpb::parse_table_layout("transposed"), rpb::UsageError);
}

TEST_CASE("rpb::table_from_array reads both layouts") {
    using rpb::TableLayout;
    // (entries, heads) = (4, 3) as stored by PyTorch: unchanged.
    const auto direct = rpb::table_from_array(counting_array(4, 3), 4, std::nullopt,
                                              TableLayout::auto_detect, "t.npy");
    CHECK(direct.shape() == rpb::Shape{4, 3});
    CHECK(direct.at(2, 1) == 21.0F);
    // (heads, entries) = (3, 4) as stored by T5X: transposed.
    const auto transposed =
        rpb::table_from_array(counting_array(3, 4), 4, 3, TableLayout::auto_detect, "t.npy");
    CHECK(transposed.shape() == rpb::Shape{4, 3});
    CHECK(transposed.at(2, 1) == 12.0F);
    CHECK(transposed.at(3, 0) == 3.0F);
    // Ambiguous square tables need the layout.
    CHECK_THROWS_WITH_AS(
        rpb::table_from_array(counting_array(4, 4), 4, std::nullopt, TableLayout::auto_detect,
                              "t.npy"),
        "table t.npy has shape (4, 4), which fits both (entries, heads) and (heads, entries): "
        "say which with --table-layout entries-heads or --table-layout heads-entries",
        rpb::UsageError);
    CHECK(rpb::table_from_array(counting_array(4, 4), 4, 4, TableLayout::heads_entries, "t.npy")
              .at(1, 2) == 21.0F);
    CHECK(rpb::table_from_array(counting_array(4, 4), 4, 4, TableLayout::entries_heads, "t.npy")
              .at(1, 2) == 12.0F);
}

TEST_CASE("rpb::table_from_array names both shapes when the table does not fit") {
    using rpb::TableLayout;
    CHECK_THROWS_WITH_AS(
        rpb::table_from_array(counting_array(31, 12), 32, 12, TableLayout::auto_detect, "t.npy"),
        "table t.npy has shape (31, 12), which fits neither (entries, heads) = "
        "(32, 12) nor (heads, entries) = (12, 32)",
        rpb::Error);
    CHECK_THROWS_WITH_AS(
        rpb::table_from_array(counting_array(32, 8), 32, 12, TableLayout::auto_detect, "t.npy"),
        "table t.npy has shape (32, 8), which fits neither (entries, heads) = "
        "(32, 12) nor (heads, entries) = (12, 32) (it holds 8 heads, not 12)",
        rpb::Error);
    CHECK_THROWS_WITH_AS(rpb::table_from_array(counting_array(5, 7), 32, std::nullopt,
                                               TableLayout::auto_detect, "t.npy"),
                         "table t.npy has shape (5, 7), which fits neither (entries, heads) = "
                         "(32, heads) nor (heads, entries) = (heads, 32)",
                         rpb::Error);
    CHECK_THROWS_WITH_AS(rpb::table_from_array(f32_array({2, 2, 2}, std::vector<float>(8)), 2,
                                               std::nullopt, TableLayout::auto_detect, "t.npy"),
                         "table t.npy has shape (2, 2, 2): expected a 2-D table, (entries, heads) "
                         "= (2, heads) or (heads, entries) = (heads, 2)",
                         rpb::Error);
    CHECK_THROWS_WITH_AS(rpb::table_from_array(counting_array(32, 12), 32, std::nullopt,
                                               TableLayout::heads_entries, "t.npy"),
                         "table t.npy has shape (32, 12), which does not fit --table-layout "
                         "heads-entries: expected (heads, entries) = (heads, 32)",
                         rpb::Error);
    CHECK_THROWS_AS(rpb::table_from_array(counting_array(32, 0), 32, std::nullopt,
                                          TableLayout::auto_detect, "t.npy"),
                    rpb::Error);
    CHECK_THROWS_AS(rpb::table_from_array(f32_array({2, 1}, {1.0F, NAN}), 2, std::nullopt,
                                          TableLayout::auto_detect, "t.npy"),
                    rpb::Error);
}

TEST_CASE("rpb::select_table_tensor") {
    rpb::TensorMap tensors;
    tensors["qkv.weight"] = counting_array(24, 8);
    tensors["relative_position_bias_table"] = counting_array(9, 2);
    CHECK(rpb::select_table_tensor(tensors, "", 9, std::nullopt, "w.safetensors") ==
          "relative_position_bias_table");
    CHECK(rpb::select_table_tensor(tensors, "qkv.weight", 9, std::nullopt, "w.safetensors") ==
          "qkv.weight");
    CHECK_THROWS_WITH_AS(
        rpb::select_table_tensor(tensors, "table", 9, std::nullopt, "w.safetensors"),
        "no tensor 'table' in w.safetensors; it holds: qkv.weight (24, 8), "
        "relative_position_bias_table (9, 2)",
        rpb::Error);
    CHECK_THROWS_WITH_AS(rpb::select_table_tensor(tensors, "", 32, std::nullopt, "w.safetensors"),
                         "no tensor in w.safetensors fits a table of 32 entries (2-D with a "
                         "dimension of 32); it holds: qkv.weight (24, 8), "
                         "relative_position_bias_table (9, 2)",
                         rpb::Error);
    tensors["layers.1.relative_position_bias_table"] = counting_array(9, 4);
    CHECK_THROWS_WITH_AS(rpb::select_table_tensor(tensors, "", 9, std::nullopt, "w.safetensors"),
                         "2 tensors in w.safetensors fit a table of 9 entries (2-D with a "
                         "dimension of 9): layers.1.relative_position_bias_table (9, 4), "
                         "relative_position_bias_table (9, 2); name one as w.safetensors:NAME",
                         rpb::Error);
    // Known heads narrow the choice.
    CHECK(rpb::select_table_tensor(tensors, "", 9, 4, "w.safetensors") ==
          "layers.1.relative_position_bias_table");
    CHECK_THROWS_AS(rpb::select_table_tensor({}, "", 9, 4, "w.safetensors"), rpb::Error);
}

TEST_CASE("rpb::parse_table_spec") {
    TempDir dir;
    const std::string file = dir.write("w.safetensors", "x");
    const std::string colon_file = dir.write("a:b.npy", "x");
    auto check = [](const rpb::TableSpec& spec, const std::string& path, const std::string& name) {
        CHECK(spec.path == path);
        CHECK(spec.name == name);
    };
    check(rpb::parse_table_spec(file), file, "");
    check(rpb::parse_table_spec(file + ":relative_position_bias_table"), file,
          "relative_position_bias_table");
    check(rpb::parse_table_spec(file + ":a:b"), file, "a:b");
    check(rpb::parse_table_spec(colon_file), colon_file, "");
    check(rpb::parse_table_spec("missing.safetensors:x"), "missing.safetensors", "x");
    check(rpb::parse_table_spec("missing.npy"), "missing.npy", "");
}

TEST_CASE("rpb::load_table") {
    TempDir dir;
    const rpb::Scheme scheme = t5_scheme(8);
    rpb::FloatTensor table({8, 3});
    for (int64_t i = 0; i < table.size(); ++i) {
        table[i] = static_cast<float>(i);
    }
    rpb::FloatTensor transposed({3, 8});
    for (int64_t e = 0; e < 8; ++e) {
        for (int64_t h = 0; h < 3; ++h) {
            transposed.at(h, e) = table.at(e, h);
        }
    }
    const auto expected = values_of(table);
    using rpb::TableLayout;

    const std::string npy = dir.write("t.npy", rpb::npy_bytes(transposed));
    CHECK(values_of(rpb::load_table({npy, ""}, scheme, std::nullopt, TableLayout::auto_detect)) ==
          expected);
    CHECK_THROWS_AS(rpb::load_table({npy, "x"}, scheme, std::nullopt, TableLayout::auto_detect),
                    rpb::UsageError);

    // Detected by content: the extension does not matter.
    const std::string st =
        dir.write("w.bin", rpb::safetensors_bytes({{"relative_attention_bias.weight", table},
                                                   {"proj.weight", rpb::FloatTensor({4, 4})}}));
    CHECK(values_of(rpb::load_table({st, ""}, scheme, 3, TableLayout::auto_detect)) == expected);
    CHECK(values_of(rpb::load_table({st, "relative_attention_bias.weight"}, scheme, std::nullopt,
                                    TableLayout::auto_detect)) == expected);
    const std::string message = "table " + st +
                                ":proj.weight has shape (4, 4), which fits neither (entries, "
                                "heads) = (8, heads) nor (heads, entries) = (heads, 8)";
    CHECK_THROWS_WITH_AS(
        rpb::load_table({st, "proj.weight"}, scheme, std::nullopt, TableLayout::auto_detect),
        message.c_str(), rpb::Error);
    for (const std::string name : {"", "x"}) {
        try {
            (void)rpb::load_table({dir.path.string() + "/missing.safetensors", name}, scheme,
                                  std::nullopt, TableLayout::auto_detect);
            FAIL("no error for a missing file");
        } catch (const rpb::UsageError& e) {
            FAIL("a missing file is a run-time error, not a usage error: " << e.what());
        } catch (const rpb::Error& e) {
            CHECK(std::string(e.what()).find("missing.safetensors") != std::string::npos);
        }
    }
}

TEST_CASE("rpb::table_tensor_name") {
    CHECK(rpb::table_tensor_name(rpb::SchemeType::t5) == "relative_attention_bias.weight");
    CHECK(rpb::table_tensor_name(rpb::SchemeType::window1d) == "relative_position_bias_table");
    CHECK(rpb::table_tensor_name(rpb::SchemeType::window2d) == "relative_position_bias_table");
}
