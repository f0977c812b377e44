#include "rpb/error.hpp"
#include "rpb/npy.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

using namespace rpb;

namespace {

const std::string golden_dir = std::string(RPB_TEST_DATA_DIR) + "/golden/attn_swin_2x2_e8_h2/";

std::span<const std::byte> as_bytes(const std::string& s) {
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

Array parse(const std::string& file) {
    return parse_npy(as_bytes(file), "t.npy");
}

// A minimal .npy file with a hand-written header dict (no padding: readers must not care).
std::string make_npy(const std::string& dict, const std::string& data, int major = 1) {
    std::string out = "\x93NUMPY";
    out += static_cast<char>(major);
    out += '\0';
    const size_t length_bytes = major == 1 ? 2 : 4;
    for (size_t b = 0; b < length_bytes; ++b) {
        out += static_cast<char>((dict.size() >> (8 * b)) & 0xff);
    }
    return out + dict + data;
}

std::string floats(std::initializer_list<float> values) {
    std::string out(values.size() * 4, '\0');
    std::memcpy(out.data(), values.begin(), out.size());
    return out;
}

std::string ints(std::initializer_list<int32_t> values) {
    std::string out(values.size() * 4, '\0');
    std::memcpy(out.data(), values.begin(), out.size());
    return out;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "missing " << path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string npy_magic_v1(char hlen_low, char hlen_high) {
    std::string s = "\x93NUMPY\x01";
    s += '\0';
    s += hlen_low;
    s += hlen_high;
    return s;
}

} // namespace

// Expected bytes derived by hand from the format rules (formats.md, numpy's writer):
// "{'descr': ..., 'fortran_order': False, 'shape': ..., }", then 21 - len(str(shape[0]))
// growth-axis spaces (none for 0-d), then spaces and '\n' up to a multiple of 64 bytes,
// with a full 64 bytes of padding when already aligned.
TEST_CASE("rpb::npy_header writes numpy's bytes") {
    SUBCASE("3-d") {
        const std::string expected = npy_magic_v1('\x76', '\0') +
                                     "{'descr': '<f4', 'fortran_order': False, 'shape': (12, "
                                     "128, 128), }" +
                                     std::string(50, ' ') + "\n";
        CHECK(expected.size() == 128);
        CHECK(npy_header("<f4", {12, 128, 128}) == expected);
    }
    SUBCASE("1-d") {
        const std::string expected = npy_magic_v1('\x76', '\0') +
                                     "{'descr': '<f4', 'fortran_order': False, 'shape': (169,), }" +
                                     std::string(58, ' ') + "\n";
        CHECK(npy_header("<f4", {169}) == expected);
    }
    SUBCASE("0-d") {
        const std::string expected = npy_magic_v1('\x76', '\0') +
                                     "{'descr': '<i4', 'fortran_order': False, 'shape': (), }" +
                                     std::string(62, ' ') + "\n";
        CHECK(npy_header("<i4", {}) == expected);
    }
    SUBCASE("growth-axis padding pushes the header past 128 bytes") {
        const std::string expected =
            npy_magic_v1('\xb6', '\0') +
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, "
            "11, 12, 13, 14), }" +
            std::string(81, ' ') + "\n";
        CHECK(expected.size() == 192);
        CHECK(npy_header("<f4", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}) == expected);
    }
    SUBCASE("an exactly aligned header still gets 64 bytes of padding") {
        const std::string expected =
            npy_magic_v1('\xb6', '\0') +
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, "
            "11, 12, 130), }" +
            std::string(84, ' ') + "\n";
        CHECK(npy_header("<f4", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 130}) == expected);
    }
    SUBCASE("matches the golden files written by numpy") {
        CHECK(npy_header("<f4", {2, 4, 4}) == read_file(golden_dir + "bias.npy").substr(0, 128));
        CHECK(npy_header("<f4", {1, 2, 4, 4}) ==
              read_file(golden_dir + "probs.npy").substr(0, 128));
    }
}

TEST_CASE("rpb::npy_bytes round-trips through rpb::parse_npy") {
    const FloatTensor f({2, 3}, std::vector<float>{1.5f, -2.0f, 0.0f, 3.25f, 1e-30f, 7.0f});
    const std::string bytes = npy_bytes(f);
    CHECK(bytes.size() == 128 + 24);
    const Array a = parse(bytes);
    CHECK(a.dtype == DType::f32);
    CHECK(a.shape == Shape{2, 3});
    const FloatTensor back = to_float32(a, "t");
    CHECK(std::vector<float>(back.values().begin(), back.values().end()) ==
          std::vector<float>(f.values().begin(), f.values().end()));

    const IntTensor i({4}, std::vector<int32_t>{-1, 0, 7, 2147483647});
    const Array b = parse(npy_bytes(i));
    CHECK(b.dtype == DType::i32);
    CHECK(b.shape == Shape{4});
    CHECK(to_int32(b, "t").storage() == std::vector<int32_t>{-1, 0, 7, 2147483647});

    const Array scalar = parse(npy_bytes(FloatTensor(Shape{}, 4.0f)));
    CHECK(scalar.shape.empty());
    CHECK(to_float32(scalar, "t")[0] == 4.0f);
    const Array empty = parse(npy_bytes(FloatTensor(Shape{0, 5})));
    CHECK(empty.shape == Shape{0, 5});
    CHECK(empty.bytes.empty());
}

TEST_CASE("rpb::read_npy reads the golden files") {
    const Array bias = read_npy(golden_dir + "bias.npy");
    CHECK(bias.dtype == DType::f32);
    CHECK(bias.shape == Shape{2, 4, 4});
    CHECK(read_npy(golden_dir + "x.npy").shape == Shape{1, 4, 8});
    CHECK(read_npy(golden_dir + "out.npy").shape == Shape{1, 4, 8});
    const FloatTensor probs = to_float32(read_npy(golden_dir + "probs.npy"), "probs");
    REQUIRE(probs.shape() == Shape{1, 2, 4, 4});
    // Attention probabilities: each row of 4 is a softmax and sums to one.
    for (int64_t row = 0; row < 8; ++row) {
        float sum = 0;
        for (int64_t k = 0; k < 4; ++k) {
            CHECK(probs[row * 4 + k] >= 0.0f);
            sum += probs[row * 4 + k];
        }
        CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
    }
}

TEST_CASE("rpb::parse_npy accepts the header variants numpy accepts") {
    // Keys in any order, double quotes, no trailing comma, no spaces, version 2.0/3.0.
    const Array a = parse(
        make_npy("{\"shape\":(2,),\"descr\":\"<i4\",\"fortran_order\":False}", ints({5, -6})));
    CHECK(a.dtype == DType::i32);
    CHECK(to_int32(a, "t").storage() == std::vector<int32_t>{5, -6});
    const Array v2 = parse(make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1, ), }\n",
                                    std::string(8, '\0'), 2));
    CHECK(v2.dtype == DType::f64);
    CHECK(v2.shape == Shape{1});
    CHECK(parse(make_npy("{'descr': '|u1', 'fortran_order': False, 'shape': (3,)}", "abc", 3))
              .dtype == DType::u8);
    CHECK(parse(make_npy("{'descr': '|b1', 'fortran_order': False, 'shape': ()}", "\1")).dtype ==
          DType::boolean);
    CHECK(parse(make_npy("{'descr': '<f2', 'fortran_order': False, 'shape': (2L, 1L)}", "abcd"))
              .shape == Shape{2, 1});
    // Trailing bytes are ignored, as np.load does (arrays can be saved back to back).
    const Array t = parse(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
                                   floats({2.0f}) + "trailing"));
    CHECK(t.bytes.size() == 4);
    CHECK(to_float32(t, "t")[0] == 2.0f);
}

TEST_CASE("rpb::parse_npy converts big-endian data") {
    const Array a = parse(make_npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,)}",
                                   std::string("\x3f\x80\x00\x00\xc0\x00\x00\x00", 8)));
    CHECK(a.dtype == DType::f32);
    const FloatTensor f = to_float32(a, "t");
    CHECK(f[0] == 1.0f);
    CHECK(f[1] == -2.0f);
    const Array i = parse(make_npy("{'descr': '>i8', 'fortran_order': False, 'shape': (1,)}",
                                   std::string("\0\0\0\0\0\0\x01\x02", 8)));
    CHECK(to_int32(i, "t")[0] == 258);
}

TEST_CASE("rpb::parse_npy transposes fortran-order data to C order") {
    // C [[0, 1, 2], [3, 4, 5]] stored column by column.
    const Array a = parse(make_npy("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3)}",
                                   ints({0, 3, 1, 4, 2, 5})));
    CHECK(to_int32(a, "t").storage() == std::vector<int32_t>{0, 1, 2, 3, 4, 5});
    // (2, 3, 4): element (i, j, k) holds its C index 12i + 4j + k at Fortran offset
    // i + 2j + 6k.
    std::vector<int32_t> fortran(24);
    for (int i = 0; i < 2; ++i) {
        for (int j = 0; j < 3; ++j) {
            for (int k = 0; k < 4; ++k) {
                fortran[static_cast<size_t>(i + 2 * j + 6 * k)] = 12 * i + 4 * j + k;
            }
        }
    }
    std::string data(96, '\0');
    std::memcpy(data.data(), fortran.data(), 96);
    const IntTensor c = to_int32(
        parse(make_npy("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3, 4)}", data)), "t");
    for (int32_t n = 0; n < 24; ++n) {
        CHECK(c[n] == n);
    }
}

TEST_CASE("rpb::parse_npy rejects malformed files") {
    const std::string good_data = floats({1, 2, 3, 4, 5, 6});
    auto header = [&](const std::string& dict) { return parse(make_npy(dict, good_data)); };
    CHECK_THROWS_WITH_AS(parse(""), "t.npy: not a .npy file (no \\x93NUMPY magic string)", Error);
    CHECK_THROWS_WITH_AS(parse("PK\x03\x04 zip"),
                         "t.npy: not a .npy file (no \\x93NUMPY magic string)", Error);
    CHECK_THROWS_WITH_AS(parse("\x93NUM"), "t.npy: truncated .npy preamble: 4 bytes", Error);
    CHECK_THROWS_WITH_AS(parse(std::string("\x93NUMPY\x01\x00\x10", 9)),
                         "t.npy: truncated .npy preamble: 9 bytes", Error);
    CHECK_THROWS_WITH_AS(parse(std::string("\x93NUMPY\x04\x00\x10\x00{}", 12)),
                         "t.npy: unsupported .npy format version 4.0 (accepted: 1.0, 2.0, 3.0)",
                         Error);
    CHECK_THROWS_WITH_AS(parse(std::string("\x93NUMPY\x01\x01\x10\x00{}", 12)),
                         "t.npy: unsupported .npy format version 1.1 (accepted: 1.0, 2.0, 3.0)",
                         Error);
    CHECK_THROWS_WITH_AS(parse(std::string("\x93NUMPY\x01\x00\xff\xff{}", 12)),
                         "t.npy: .npy header length 65535 exceeds the limit of 10000 bytes", Error);
    CHECK_THROWS_WITH_AS(parse(std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14)),
                         "t.npy: .npy header length 4294967295 exceeds the limit of 10000 bytes",
                         Error);
    CHECK_THROWS_WITH_AS(parse(std::string("\x93NUMPY\x01\x00\x11\x27{}", 12)),
                         "t.npy: .npy header length 10001 exceeds the limit of 10000 bytes", Error);
    CHECK_THROWS_WITH_AS(parse(std::string("\x93NUMPY\x01\x00\x10\x27{}", 12)),
                         "t.npy: truncated .npy header: 10000 bytes declared, 2 present", Error);
    CHECK_THROWS_WITH_AS(parse(std::string("\x93NUMPY\x01\x00\x64\x00{'descr'", 18)),
                         "t.npy: truncated .npy header: 100 bytes declared, 8 present", Error);
    CHECK_THROWS_WITH_AS(header("[1, 2]"),
                         "t.npy: malformed .npy header: expected a dict literal, found '['", Error);
    CHECK_THROWS_WITH_AS(header(""),
                         "t.npy: malformed .npy header: expected a dict literal, found the end of "
                         "the header",
                         Error);
    CHECK_THROWS_WITH_AS(header("{'descr': '<f4', 'fortran_order': False}"),
                         "t.npy: malformed .npy header: missing key 'shape'", Error);
    CHECK_THROWS_WITH_AS(
        header("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'extra': 1}"),
        "t.npy: malformed .npy header: unknown key 'extra' (accepted: descr, fortran_order, "
        "shape)",
        Error);
    CHECK_THROWS_WITH_AS(
        header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}"),
        "t.npy: malformed .npy header: duplicate key 'descr'", Error);
    CHECK_THROWS_WITH_AS(header("{descr: '<f4'}"),
                         "t.npy: malformed .npy header: expected a quoted key or '}' at offset 1, "
                         "found 'd'",
                         Error);
    CHECK_THROWS_WITH_AS(header("{'descr' '<f4'}"),
                         "t.npy: malformed .npy header: expected ':' after key 'descr', found '''",
                         Error);
    CHECK_THROWS_WITH_AS(header("{'descr': '<f4' 'shape': (6,)}"),
                         "t.npy: malformed .npy header: expected ',' or '}' after the value of "
                         "'descr', found '''",
                         Error);
    CHECK_THROWS_WITH_AS(header("{'descr': '<f4', 'fortran_order': False, 'shape': (6,)} x"),
                         "t.npy: malformed .npy header: unexpected 'x' after the dict", Error);
    CHECK_THROWS_WITH_AS(header("{'descr': '<f4"),
                         "t.npy: malformed .npy header: unterminated string at offset 10", Error);
    CHECK_THROWS_WITH_AS(header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': ()}"),
                         "t.npy: malformed .npy header: descr is a list: structured dtypes are "
                         "not supported",
                         Error);
    CHECK_THROWS_WITH_AS(header("{'descr': '<f4', 'fortran_order': 0, 'shape': (6,)}"),
                         "t.npy: malformed .npy header: fortran_order must be True or False, "
                         "found '0'",
                         Error);
    CHECK_THROWS_WITH_AS(header("{'descr': '<f4', 'fortran_order': False, 'shape': [6]}"),
                         "t.npy: malformed .npy header: shape must be a tuple such as (2, 3) or "
                         "(5,), found '['",
                         Error);
    CHECK_THROWS_WITH_AS(header("{'descr': '<f4', 'fortran_order': False, 'shape': (6)}"),
                         "t.npy: malformed .npy header: shape (6) is not a tuple (a 1-d shape is "
                         "written (6,))",
                         Error);
    CHECK_THROWS_WITH_AS(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3.0)}"),
                         "t.npy: malformed .npy header: expected ',' or ')' in shape, found '.'",
                         Error);
    CHECK_THROWS_WITH_AS(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x)}"),
                         "t.npy: malformed .npy header: shape must hold integers, found 'x'",
                         Error);
    CHECK_THROWS_WITH_AS(header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3)}"),
                         "t.npy: negative dimension -1 in shape (-1, 3)", Error);
    CHECK_THROWS_WITH_AS(
        header("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}"),
        "t.npy: shape (4294967296, 4294967296) is too large", Error);
    CHECK_THROWS_WITH_AS(
        header("{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,)}"),
        "t.npy: shape (2305843009213693952,) is too large", Error);
    CHECK_THROWS_WITH_AS(
        header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}"),
        "t.npy: malformed .npy header: dimension 99999999999999999999 in shape does not fit in "
        "int64",
        Error);
    CHECK_THROWS_WITH_AS(header("{'descr': '|O', 'fortran_order': False, 'shape': (6,)}"),
                         "t.npy: .npy dtype '|O' holds python objects, refused (pickled data is "
                         "never loaded)",
                         Error);
    CHECK_THROWS_WITH_AS(header("{'descr': '<c8', 'fortran_order': False, 'shape': (3,)}"),
                         "t.npy: unsupported .npy dtype '<c8' (accepted: f2, f4, f8, i1, i2, i4, "
                         "i8, u1, b1; little- or big-endian)",
                         Error);
    CHECK_THROWS_WITH_AS(header("{'descr': '<U8\\x07', 'fortran_order': False, 'shape': (3,)}"),
                         "t.npy: malformed .npy header: unsupported character '\\\\' in a string "
                         "at offset 14",
                         Error);
    CHECK_THROWS_WITH_AS(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4)}"),
                         "t.npy: truncated .npy data: shape (2, 4) of float32 needs 32 bytes, 24 "
                         "present",
                         Error);
    // The data size is checked before anything is allocated.
    CHECK_THROWS_WITH_AS(
        header("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,)}"),
        "t.npy: truncated .npy data: shape (1000000000000,) of float64 needs 8000000000000 "
        "bytes, 24 present",
        Error);
    CHECK_THROWS_WITH_AS(
        header("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), '\x93': 1}"),
        "t.npy: malformed .npy header: unknown key '\\x93' (accepted: descr, fortran_order, "
        "shape)",
        Error);
}

TEST_CASE("rpb::read_npy names the file it cannot open") {
    CHECK_THROWS_WITH_AS(read_npy("/nonexistent/t.npy"),
                         "/nonexistent/t.npy: cannot open: no such file or directory", Error);
    const std::string dir_message =
        std::string(RPB_TEST_DATA_DIR) + ": cannot read: is a directory";
    CHECK_THROWS_WITH_AS(read_npy(RPB_TEST_DATA_DIR), dir_message.c_str(), Error);
    const std::string path =
        (std::filesystem::temp_directory_path() / ("rpb_test_npy_" + std::to_string(getpid())))
            .string();
    { std::ofstream(path, std::ios::binary) << "\x93NUMPY\x01"; }
    const std::string message = path + ": truncated .npy preamble: 7 bytes";
    CHECK_THROWS_WITH_AS(read_npy(path), message.c_str(), Error);
    std::filesystem::remove(path);
}

TEST_CASE("rpb::read_npy reads standard input for -") {
    const std::string path =
        (std::filesystem::temp_directory_path() / ("rpb_test_stdin_" + std::to_string(getpid())))
            .string();
    // Larger than the reader's first chunk, to exercise its growth.
    const FloatTensor big({300, 100}, 0.5f);
    { std::ofstream(path, std::ios::binary) << npy_bytes(big); }
    REQUIRE(std::freopen(path.c_str(), "rb", stdin) != nullptr);
    const Array a = read_npy("-");
    CHECK(a.shape == Shape{300, 100});
    CHECK(to_float32(a, "t")[29999] == 0.5f);
    REQUIRE(std::freopen("/dev/null", "rb", stdin) != nullptr);
    CHECK_THROWS_WITH_AS(read_npy("-"),
                         "standard input: not a .npy file (no \\x93NUMPY magic string)", Error);
    std::filesystem::remove(path);
}

TEST_CASE("rpb::parse_npy survives the fuzz regression inputs") {
    const std::filesystem::path dir = std::string(RPB_TEST_DATA_DIR) + "/fuzz/regressions/npy";
    REQUIRE(std::filesystem::is_directory(dir));
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        const std::string bytes = read_file(entry.path().string());
        INFO(entry.path().string());
        try {
            (void)parse_npy(as_bytes(bytes), "r.npy");
        } catch (const Error& e) {
            CHECK(std::string(e.what()).rfind("r.npy: ", 0) == 0);
            CHECK(std::string(e.what()).find('\n') == std::string::npos);
        }
        ++count;
    }
    CHECK(count > 0);
}

namespace {

// A temporary file holding `bytes`, removed at the end of the scope.
struct TempFile {
    std::string path;
    explicit TempFile(const std::string& bytes, const std::string& tag = "reader") {
        path = (std::filesystem::temp_directory_path() /
                ("rpb_test_" + tag + "_" + std::to_string(getpid()) + ".npy"))
                   .string();
        std::ofstream(path, std::ios::binary) << bytes;
    }
    ~TempFile() { std::filesystem::remove(path); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
};

std::string error_of(const std::function<void()>& run) {
    try {
        run();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

TEST_CASE("rpb::NpyFileReader reads any range as read_npy + to_float32 would") {
    FloatTensor values({4, 3, 5});
    for (int64_t i = 0; i < values.size(); ++i) {
        values[i] = static_cast<float>(i) * 0.25f - 3.0f;
    }
    const TempFile file(npy_bytes(values));
    auto reader = NpyFileReader::open(file.path);
    REQUIRE(reader != nullptr);
    CHECK(reader->shape() == Shape{4, 3, 5});
    CHECK(reader->dtype() == DType::f32);
    CHECK(reader->count() == 60);
    for (const auto& [first, count] :
         {std::pair<int64_t, int64_t>{0, 60}, {15, 15}, {59, 1}, {7, 0}, {60, 0}, {1, 44}}) {
        std::vector<float> out(static_cast<size_t>(count) + 1, 99.0f);
        reader->read_float32(first, count, out.data(), "x");
        for (int64_t i = 0; i < count; ++i) {
            CHECK(out[static_cast<size_t>(i)] == values[first + i]);
        }
        CHECK(out.back() == 99.0f); // nothing written past the range
    }
    std::vector<float> out(8);
    CHECK_THROWS_WITH_AS(reader->read_float32(58, 3, out.data(), "x"),
                         "x: elements [58, 61) are outside the 60 of the array", Error);
    CHECK_THROWS_WITH_AS(reader->read_float32(-1, 1, out.data(), "x"),
                         "x: elements [-1, 0) are outside the 60 of the array", Error);
}

TEST_CASE("rpb::NpyFileReader converts float64 and big-endian data, names bad elements") {
    std::string f64(6 * 8, '\0');
    const double doubles[6] = {0.1, -2.5, 1e-3, 7.0, 1e300, 3.0};
    std::memcpy(f64.data(), doubles, f64.size());
    const TempFile wide(make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)}", f64),
                        "f64");
    auto reader = NpyFileReader::open(wide.path);
    REQUIRE(reader != nullptr);
    std::vector<float> out(3);
    reader->read_float32(0, 3, out.data(), "x");
    CHECK(out == std::vector<float>{0.1f, -2.5f, 1e-3f});
    // The position is named in the whole array, not in the range read.
    CHECK_THROWS_WITH_AS(reader->read_float32(3, 3, out.data(), "x"),
                         "x: element (1, 1) = 1e+300 overflows float32", Error);

    const TempFile big(make_npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,)}",
                                std::string("\x3f\x80\x00\x00\x7f\xc0\x00\x00", 8)),
                       "be");
    reader = NpyFileReader::open(big.path);
    REQUIRE(reader != nullptr);
    reader->read_float32(0, 1, out.data(), "x");
    CHECK(out[0] == 1.0f);
    CHECK_THROWS_WITH_AS(reader->read_float32(0, 2, out.data(), "x"),
                         "x: element (1,) is nan (values must be finite)", Error);
}

TEST_CASE("rpb::NpyFileReader leaves pipes and Fortran order to read_npy") {
    CHECK(NpyFileReader::open("-") == nullptr);
    CHECK(NpyFileReader::open("/dev/null") == nullptr);
    const TempFile fortran(make_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3)}",
                                    floats({1, 2, 3, 4, 5, 6})),
                           "fortran");
    CHECK(NpyFileReader::open(fortran.path) == nullptr);
    CHECK_THROWS_WITH_AS(NpyFileReader::open("/nonexistent/t.npy"),
                         "/nonexistent/t.npy: cannot open: no such file or directory", Error);
}

TEST_CASE("rpb::NpyFileReader refuses malformed files with read_npy's messages") {
    const std::string data = floats({1, 2, 3, 4, 5, 6});
    const std::vector<std::string> malformed = {
        "",
        "PK\x03\x04 zip",
        "\x93NUM",
        std::string("\x93NUMPY\x04\x00\x10\x00{}", 12),
        std::string("\x93NUMPY\x01\x00\xff\xff{}", 12),
        std::string("\x93NUMPY\x01\x00\x10\x27{}", 12),
        std::string("\x93NUMPY\x01\x00\x64\x00{'descr'", 18),
        make_npy("{'descr': '<f4', 'fortran_order': False}", data),
        make_npy("{'descr': '|O', 'fortran_order': False, 'shape': (6,)}", data),
        make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4)}", data),
        make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,)}", data),
        make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
                 data),
    };
    for (const std::string& bytes : malformed) {
        const TempFile file(bytes, "malformed");
        const std::string expected = error_of([&] { (void)read_npy(file.path); });
        CAPTURE(expected);
        CHECK(expected != "(no error)");
        CHECK(error_of([&] { (void)NpyFileReader::open(file.path); }) == expected);
    }
}

TEST_CASE("rpb::NpyFileReader reports a file that shrank after it was opened") {
    const TempFile file(npy_bytes(FloatTensor({10, 10}, 1.0f)), "shrink");
    auto reader = NpyFileReader::open(file.path);
    REQUIRE(reader != nullptr);
    std::filesystem::resize_file(file.path, 200);
    std::vector<float> out(100);
    const std::string message = file.path + ": the file became shorter while it was read";
    CHECK_THROWS_WITH_AS(reader->read_float32(0, 100, out.data(), "x"), message.c_str(), Error);
}
