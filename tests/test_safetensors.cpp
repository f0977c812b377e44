#include "rpb/error.hpp"
#include "rpb/safetensors.hpp"

#include <cstring>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

using namespace rpb;

namespace {

const std::string golden_weights =
    std::string(RPB_TEST_DATA_DIR) + "/golden/attn_swin_2x2_e8_h2/weights.safetensors";

std::span<const std::byte> as_bytes(const std::string& s) {
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

std::string size_prefix(uint64_t n) {
    std::string out;
    for (int b = 0; b < 8; ++b) {
        out += static_cast<char>((n >> (8 * b)) & 0xff);
    }
    return out;
}

std::string make_st(const std::string& header, const std::string& data) {
    return size_prefix(header.size()) + header + data;
}

TensorMap parse(const std::string& file) {
    return parse_safetensors(as_bytes(file), "w.st");
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "missing " << path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  uint64_t begin, uint64_t end) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
           ",\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(end) + "]}";
}

} // namespace

TEST_CASE("rpb::read_safetensors reads the golden weights") {
    const TensorMap tensors = read_safetensors(golden_weights);
    REQUIRE(tensors.size() == 5);
    const std::pair<const char*, Shape> expected[] = {
        {"proj.bias", {8}},
        {"proj.weight", {8, 8}},
        {"qkv.bias", {24}},
        {"qkv.weight", {24, 8}},
        {"relative_position_bias_table", {9, 2}},
    };
    for (const auto& [name, shape] : expected) {
        INFO(name);
        REQUIRE(tensors.count(name) == 1);
        CHECK(tensors.at(name).dtype == DType::f32);
        CHECK(tensors.at(name).shape == shape);
    }
    // Bytes 0x170.. of the file: proj.bias starts with 8f 44 6f 3e.
    const FloatTensor bias = to_float32(tensors.at("proj.bias"), "proj.bias");
    uint32_t first = 0;
    std::memcpy(&first, &bias[0], 4);
    CHECK(first == 0x3e6f448fu);
}

TEST_CASE("rpb::safetensors_bytes reproduces the reference writer's file") {
    const std::string file = read_file(golden_weights);
    const TensorMap tensors = parse_safetensors(as_bytes(file), "golden");
    std::vector<std::pair<std::string, FloatTensor>> list;
    // Reverse order on purpose: the writer sorts by name like the reference.
    for (auto it = tensors.rbegin(); it != tensors.rend(); ++it) {
        list.emplace_back(it->first, to_float32(it->second, it->first));
    }
    CHECK(safetensors_bytes(list) == file);
}

TEST_CASE("rpb::safetensors_bytes writes a sorted, space-padded header") {
    const std::vector<std::pair<std::string, FloatTensor>> tensors = {
        {"b", FloatTensor({2}, std::vector<float>{1.0f, 2.0f})},
        {"a", FloatTensor({1, 1}, std::vector<float>{3.0f})},
    };
    // 110 bytes of JSON, padded with 2 spaces to 112 (0x70).
    const std::string header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[0,4]},"
                               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}  ";
    std::string data(12, '\0');
    const float values[] = {3.0f, 1.0f, 2.0f};
    std::memcpy(data.data(), values, 12);
    const std::string expected = std::string("\x70\0\0\0\0\0\0\0", 8) + header + data;
    CHECK(safetensors_bytes(tensors) == expected);

    const TensorMap back = parse(expected);
    CHECK(to_float32(back.at("b"), "b").storage() == std::vector<float>{1.0f, 2.0f});
    CHECK(back.at("a").shape == Shape{1, 1});

    CHECK(safetensors_bytes({}) == std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
    CHECK_THROWS_WITH_AS(safetensors_bytes({{"x", FloatTensor({1})}, {"x", FloatTensor({1})}}),
                         "duplicate tensor name 'x' for a safetensors file", Error);
}

TEST_CASE("rpb::parse_safetensors accepts what the reference reader accepts") {
    // Metadata, a 0-d and an empty tensor, unknown entry keys, float16/bfloat16 data,
    // offsets listed out of order, whitespace around the JSON.
    const std::string header =
        " {\"__metadata__\":{\"format\":\"pt\"}," + entry("z", "BF16", "[2]", 4, 8) + "," +
        entry("s", "F16", "[]", 2, 4) + "," + entry("e", "I64", "[0,3]", 0, 0) + "," +
        entry("m", "U8", "[2]", 0, 2) + ",\"u\":{\"dtype\":\"BOOL\",\"shape\":[1],\"x\":[[{}]]," +
        "\"data_offsets\":[8,9]}}   ";
    const std::string data = std::string("\x07\x09", 2) + std::string("\x00\x3c", 2) +
                             std::string("\x80\x3f\x00\xc0", 4) + std::string("\x01", 1);
    const TensorMap t = parse(make_st(header, data));
    REQUIRE(t.size() == 5);
    CHECK(t.count("__metadata__") == 0);
    CHECK(to_float32(t.at("z"), "z").storage() == std::vector<float>{1.0f, -2.0f});
    CHECK(t.at("s").shape.empty());
    CHECK(to_float32(t.at("s"), "s")[0] == 1.0f);
    CHECK(t.at("e").shape == Shape{0, 3});
    CHECK(t.at("e").bytes.empty());
    CHECK(to_int32(t.at("m"), "m").storage() == std::vector<int32_t>{7, 9});
    CHECK(t.at("u").dtype == DType::boolean);
    CHECK(parse(make_st("{}", "")).empty());
    CHECK(parse(make_st("{\"__metadata__\":null}", "")).empty());
}

TEST_CASE("rpb::parse_safetensors rejects malformed files") {
    const std::string f8 = std::string(8, '\0');
    auto check = [](const std::string& file, const std::string& message) {
        CHECK_THROWS_WITH_AS(parse(file), message.c_str(), Error);
    };
    check("", "w.st: not a .safetensors file: 0 bytes, too short for the 8-byte header size");
    check("abcdefg",
          "w.st: not a .safetensors file: 7 bytes, too short for the 8-byte header size");
    check(size_prefix(100) + "{}", "w.st: safetensors header size 100 exceeds the file (10 bytes)");
    check(size_prefix(100000001) + "{}",
          "w.st: safetensors header size 100000001 exceeds the limit of 100000000 bytes");
    check(size_prefix(UINT64_MAX) + "{}",
          "w.st: safetensors header size 18446744073709551615 exceeds the limit of 100000000 "
          "bytes");
    check(make_st("{\"a\":\xff}", ""), "w.st: safetensors header is not valid UTF-8 (byte 13)");
    check(make_st("{\"\xed\xa0\x80\":1}", ""),
          "w.st: safetensors header is not valid UTF-8 (byte 10)");
    check(make_st("{\"a\":", ""),
          "w.st: safetensors header is not valid JSON: parse error at line 1, column 6: syntax "
          "error while parsing value - unexpected end of input; expected '[', '{', or a literal");
    check(make_st("", ""),
          "w.st: safetensors header is not valid JSON: parse error at line 1, column 1: syntax "
          "error while parsing value - unexpected end of input; expected '[', '{', or a literal");
    check(make_st("{} x", ""),
          "w.st: safetensors header is not valid JSON: parse error at line 1, column 4: syntax "
          "error while parsing value - invalid literal; last read: '{} x'; expected end of "
          "input");
    check(make_st("[]", ""), "w.st: safetensors header is not a JSON object");
    check(make_st("3", ""), "w.st: safetensors header is not a JSON object");
    check(make_st("{\"a\":[1]}", ""),
          "w.st: tensor 'a' must be an object with dtype, shape and data_offsets");
    check(make_st(std::string("{") + entry("w", "F8_E4M3", "[2]", 0, 2) + "}", "ab"),
          "w.st: tensor 'w': unsupported dtype 'F8_E4M3' (accepted: F32, F64, F16, BF16, I64, "
          "I32, I16, I8, U8, BOOL)");
    check(make_st("{\"w\":{\"dtype\":32,\"shape\":[],\"data_offsets\":[0,4]}}", f8),
          "w.st: tensor 'w': dtype must be a string such as \"F32\"");
    check(make_st("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", f8.substr(4)),
          "w.st: tensor 'w' has no shape");
    check(make_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", ""),
          "w.st: tensor 'w' has no data_offsets");
    check(make_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"shape\":[1],\"data_offsets\":[0,4]}}",
                  f8.substr(4)),
          "w.st: tensor 'w': duplicate key 'shape'");
    check(make_st(std::string("{") + entry("w", "F32", "[-1]", 0, 4) + "}", f8.substr(4)),
          "w.st: tensor 'w': shape must be an array of non-negative integers");
    check(make_st(std::string("{") + entry("w", "F32", "[1.0]", 0, 4) + "}", f8.substr(4)),
          "w.st: tensor 'w': shape must be an array of non-negative integers");
    check(make_st(std::string("{") + entry("w", "F32", "[9223372036854775808]", 0, 4) + "}",
                  f8.substr(4)),
          "w.st: tensor 'w': shape must be an array of non-negative integers");
    check(make_st(std::string("{") + entry("w", "F32", "[[1]]", 0, 4) + "}", f8.substr(4)),
          "w.st: tensor 'w': shape must be an array of non-negative integers");
    check(make_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", f8),
          "w.st: tensor 'w': data_offsets must be [begin, end]");
    check(make_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}", f8),
          "w.st: tensor 'w': data_offsets must be [begin, end]");
    check(make_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{}}}", f8),
          "w.st: tensor 'w': data_offsets must be [begin, end]");
    check(make_st(std::string("{") + entry("w", "F32", "[1]", 4, 0) + "}", f8.substr(4)),
          "w.st: tensor 'w' has data_offsets [4, 0] with end before begin");
    check(make_st(std::string("{") + entry("a", "F32", "[1]", 0, 4) + "," +
                      entry("a", "F32", "[1]", 4, 8) + "}",
                  f8),
          "w.st: duplicate tensor name 'a'");
    check(make_st(std::string("{") + entry("a", "F32", "[1]", 4, 8) + "}", f8),
          "w.st: gap in safetensors data: tensor 'a' begins at 4, the buffer starts at 0");
    check(make_st(std::string("{") + entry("a", "F32", "[1]", 0, 4) + "," +
                      entry("b", "F32", "[1]", 8, 12) + "}",
                  f8 + "1234"),
          "w.st: gap in safetensors data: tensor 'b' begins at 8, the previous tensor 'a' ends "
          "at 4");
    check(make_st(std::string("{") + entry("a", "F32", "[2]", 0, 8) + "," +
                      entry("b", "F32", "[1]", 4, 8) + "}",
                  f8),
          "w.st: tensors 'a' and 'b' overlap in the safetensors data (begin 4 < end 8)");
    check(make_st(std::string("{") + entry("a", "F32", "[2]", 0, 4) + "}", f8.substr(4)),
          "w.st: tensor 'a' has 4 bytes of data, its shape (2,) of float32 needs 8");
    check(make_st(std::string("{") + entry("a", "BF16", "[3, 1]", 0, 4) + "}", f8.substr(4)),
          "w.st: tensor 'a' has 4 bytes of data, its shape (3, 1) of bfloat16 needs 6");
    check(make_st(std::string("{") + entry("a", "F32", "[4294967296,4294967296]", 0, 4) + "}",
                  f8.substr(4)),
          "w.st: tensor 'a': shape (4294967296, 4294967296) is too large");
    check(make_st(std::string("{") + entry("a", "F64", "[1152921504606846976]", 0, 4) + "}",
                  f8.substr(4)),
          "w.st: tensor 'a': shape (1152921504606846976,) is too large");
    check(make_st(std::string("{") + entry("a", "F32", "[1]", 0, 4) + "}", f8),
          "w.st: 4 trailing bytes after the safetensors data (the tensors end at 4)");
    check(make_st(std::string("{") + entry("a", "F32", "[2]", 0, 8) + "}", "abc"),
          "w.st: truncated safetensors data: the tensors need 8 bytes, 3 present");
    check(make_st(std::string("{") + entry("a", "F32", "[1000000000000]", 0, 4000000000000) + "}",
                  "abc"),
          "w.st: truncated safetensors data: the tensors need 4000000000000 bytes, 3 present");
    check(make_st("{\"__metadata__\":{\"a\":1}}", ""),
          "w.st: safetensors __metadata__ must be an object mapping strings to strings");
    check(make_st("{\"__metadata__\":[\"a\"]}", ""),
          "w.st: safetensors __metadata__ must be an object mapping strings to strings");
    check(make_st("{\"__metadata__\":{\"a\":{\"b\":\"c\"}}}", ""),
          "w.st: safetensors __metadata__ must be an object mapping strings to strings");
    check(make_st("{\"__metadata__\":\"x\"}", ""),
          "w.st: safetensors __metadata__ must be an object mapping strings to strings");
    check(make_st("{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}", ""),
          "w.st: duplicate key 'a' in __metadata__");
    check(make_st("{\"__metadata__\":{},\"__metadata__\":{}}", ""),
          "w.st: duplicate tensor name '__metadata__'");
    check(make_st("{\"a\\n\\u0001\":[]}", ""),
          "w.st: tensor 'a\\x0a\\x01' must be an object with dtype, shape and data_offsets");
}

TEST_CASE("rpb::read_safetensors names the file it cannot open") {
    CHECK_THROWS_WITH_AS(read_safetensors("/nonexistent/w.safetensors"),
                         "/nonexistent/w.safetensors: cannot open: no such file or directory",
                         Error);
}

TEST_CASE("rpb::parse_safetensors survives the fuzz regression inputs") {
    const std::filesystem::path dir =
        std::string(RPB_TEST_DATA_DIR) + "/fuzz/regressions/safetensors";
    REQUIRE(std::filesystem::is_directory(dir));
    int count = 0;
    for (const auto& file : std::filesystem::directory_iterator(dir)) {
        const std::string bytes = read_file(file.path().string());
        INFO(file.path().string());
        try {
            (void)parse_safetensors(as_bytes(bytes), "r.st");
        } catch (const Error& e) {
            CHECK(std::string(e.what()).rfind("r.st: ", 0) == 0);
            CHECK(std::string(e.what()).find('\n') == std::string::npos);
        }
        ++count;
    }
    CHECK(count > 0);
}

TEST_CASE("rpb::safetensors_bytes writes __metadata__ first and parse_safetensors returns it") {
    const std::vector<std::pair<std::string, FloatTensor>> list = {{"b", FloatTensor({1}, 2.0f)},
                                                                   {"a", FloatTensor({2}, 1.0f)}};
    const std::map<std::string, std::string> metadata = {{"format", "pt"},
                                                         {"rpbtool.config", "{\"depth\": 6}"}};
    const std::string file = safetensors_bytes(list, metadata);
    // The reference writer's layout: metadata first, then the entries by name.
    const std::string expected_header =
        R"({"__metadata__":{"format":"pt","rpbtool.config":"{\"depth\": 6}"},)"
        R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
        R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
    CHECK(file.substr(8, expected_header.size()) == expected_header);
    SafetensorsMetadata read_back;
    const TensorMap tensors = parse_safetensors(as_bytes(file), "m.safetensors", read_back);
    CHECK(read_back == metadata);
    CHECK(tensors.size() == 2);
    SafetensorsMetadata none;
    parse_safetensors(as_bytes(safetensors_bytes(list)), "plain", none);
    CHECK(none.empty());
}
