#include "idx_files.hpp"
#include "rpb/error.hpp"
#include "rpb/idx.hpp"

#include <chrono>
#include <cstring>
#include <doctest/doctest.h>
#include <string>
#include <vector>

using namespace rpb;
using namespace idx_test;

namespace {

IdxArray parse(const std::string& file) {
    return parse_idx(as_bytes(file), "t.idx");
}

template <typename T>
std::vector<T> values(const IdxArray& array) {
    REQUIRE(array.data.size() % sizeof(T) == 0);
    std::vector<T> out(array.data.size() / sizeof(T));
    std::memcpy(out.data(), array.data.data(), array.data.size());
    return out;
}

void check_same(const IdxArray& a, const IdxArray& b) {
    CHECK(a.type == b.type);
    CHECK(a.dims == b.dims);
    CHECK(a.data == b.data);
}

// One valid file of every element type; values written big-endian by hand.
const std::vector<std::string>& valid_files() {
    static const std::vector<std::string> files = {
        idx_header(0x08, {2, 3}) + "\x01\x02\x03\xfd\xfe\xff",
        idx_header(0x09, {2}) + "\xff\x01",
        idx_header(0x0B, {2}) + "\x01\x02\xff\xfe",
        idx_header(0x0C, {1, 2}) + be32(0x01020304) + be32(0xfffffffb),
        idx_header(0x0D, {2}) + be32(0x3fc00000) + be32(0xc0100000),
        idx_header(0x0E, {1}) + be32(0x3fb99999) + be32(0x9999999a),
        idx_header(0x08, {0, 4294967295u}),
    };
    return files;
}

} // namespace

TEST_CASE("rpb::parse_idx reads every element type into host byte order") {
    const auto& files = valid_files();
    SUBCASE("uint8") {
        const IdxArray a = parse(files[0]);
        CHECK(a.type == IdxType::u8);
        CHECK(a.dims == Shape{2, 3});
        CHECK(values<uint8_t>(a) == std::vector<uint8_t>{1, 2, 3, 253, 254, 255});
    }
    SUBCASE("int8") {
        const IdxArray a = parse(files[1]);
        CHECK(a.type == IdxType::i8);
        CHECK(values<int8_t>(a) == std::vector<int8_t>{-1, 1});
    }
    SUBCASE("int16") {
        const IdxArray a = parse(files[2]);
        CHECK(a.type == IdxType::i16);
        CHECK(values<int16_t>(a) == std::vector<int16_t>{258, -2});
    }
    SUBCASE("int32") {
        const IdxArray a = parse(files[3]);
        CHECK(a.type == IdxType::i32);
        CHECK(a.dims == Shape{1, 2});
        CHECK(values<int32_t>(a) == std::vector<int32_t>{16909060, -5});
    }
    SUBCASE("float32") {
        const IdxArray a = parse(files[4]);
        CHECK(a.type == IdxType::f32);
        CHECK(values<float>(a) == std::vector<float>{1.5f, -2.25f});
    }
    SUBCASE("float64") {
        const IdxArray a = parse(files[5]);
        CHECK(a.type == IdxType::f64);
        CHECK(values<double>(a) == std::vector<double>{0.1});
    }
    SUBCASE("a zero size makes an empty array, however large the others") {
        const IdxArray a = parse(files[6]);
        CHECK(a.dims == Shape{0, 4294967295});
        CHECK(a.data.empty());
    }
}

TEST_CASE("rpb::idx_type_size and rpb::idx_type_name") {
    CHECK(idx_type_size(IdxType::i16) == 2);
    CHECK(idx_type_size(IdxType::f64) == 8);
    CHECK(idx_type_name(IdxType::i8) == "int8");
    CHECK(idx_type_name(IdxType::f32) == "float32");
}

TEST_CASE("rpb::parse_idx refuses malformed files by name") {
    const std::string types = " (accepted: 0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, 0x0d "
                              "float32, 0x0e float64)";
    CHECK_THROWS_WITH_AS(parse(std::string("\x01\0\x08\x01", 4) + be32(0)),
                         "t.idx: not an IDX file (it does not start with two zero bytes)", Error);
    CHECK_THROWS_WITH_AS(parse("PK\x03\x04"),
                         "t.idx: not an IDX file (it does not start with two zero bytes)", Error);
    CHECK_THROWS_WITH_AS(parse("x"),
                         "t.idx: not an IDX file (it does not start with two zero bytes)", Error);
    CHECK_THROWS_WITH_AS(parse(""), "t.idx: truncated IDX header: 0 bytes, at least 4 needed",
                         Error);
    CHECK_THROWS_WITH_AS(parse(std::string("\0\0\x08", 3)),
                         "t.idx: truncated IDX header: 3 bytes, at least 4 needed", Error);
    CHECK_THROWS_WITH_AS(parse(idx_header(0x0A, {1}) + "x"),
                         ("t.idx: unknown IDX element type 0x0a" + types).c_str(), Error);
    CHECK_THROWS_WITH_AS(parse(idx_header(0x00, {1}) + "x"),
                         ("t.idx: unknown IDX element type 0x00" + types).c_str(), Error);
    CHECK_THROWS_WITH_AS(parse(idx_header(0x0F, {1}) + "x"),
                         ("t.idx: unknown IDX element type 0x0f" + types).c_str(), Error);
    CHECK_THROWS_WITH_AS(parse(idx_header(0x08, {})),
                         "t.idx: IDX file has 0 dimensions (accepted: 1 to 255)", Error);
    CHECK_THROWS_WITH_AS(parse(std::string("\0\0\x08\x03", 4) + be32(1) + be32(2)),
                         "t.idx: truncated IDX header: 3 dimensions need 16 bytes, 12 present",
                         Error);
    CHECK_THROWS_WITH_AS(parse(idx_header(0x08, {4294967295u, 4294967295u, 4294967295u})),
                         "t.idx: shape (4294967295, 4294967295, 4294967295) is too large", Error);
    // 2^61 elements fit in int64, their 2^64 bytes do not.
    CHECK_THROWS_WITH_AS(parse(idx_header(0x0E, {2147483648u, 1073741824u})),
                         "t.idx: shape (2147483648, 1073741824) is too large", Error);
    CHECK_THROWS_WITH_AS(
        parse(idx_header(0x08, {2, 3}) + "12345"),
        "t.idx: truncated IDX data: shape (2, 3) of uint8 needs 6 bytes, 5 present", Error);
    CHECK_THROWS_WITH_AS(
        parse(idx_header(0x0D, {2}) + "1234"),
        "t.idx: truncated IDX data: shape (2,) of float32 needs 8 bytes, 4 present", Error);
    CHECK_THROWS_WITH_AS(parse(idx_header(0x08, {2, 3}) + "1234567"),
                         "t.idx: trailing data after the IDX array: shape (2, 3) of uint8 needs 6 "
                         "bytes, 7 present",
                         Error);
    CHECK_THROWS_WITH_AS(parse(idx_header(0x08, {4294967295u, 4}) + "abc"),
                         "t.idx: truncated IDX data: shape (4294967295, 4) of uint8 needs "
                         "17179869180 bytes, 3 present",
                         Error);
}

TEST_CASE("rpb::parse_idx reads gzip like the plain file") {
    for (const std::string& file : valid_files()) {
        CAPTURE(file.size());
        const IdxArray plain = parse(file);
        check_same(parse(gzip(file)), plain);
        check_same(parse(gzip(file, 0)), plain); // stored blocks
        // Members back to back are one stream, as gzip -d reads them.
        check_same(parse(gzip(file.substr(0, 5)) + gzip("") + gzip(file.substr(5))), plain);
    }
}

TEST_CASE("rpb::parse_idx refuses a bad gzip stream rather than reading it short") {
    const std::string file = idx_header(0x08, {2, 3}) + "\x01\x02\x03\x04\x05\x06";
    const std::string good = gzip(file);
    CHECK_THROWS_WITH_AS(parse(good.substr(0, good.size() - 1)), "t.idx: truncated gzip stream",
                         Error);
    // All of the data but none of the CRC-32 and length that vouch for it.
    CHECK_THROWS_WITH_AS(parse(good.substr(0, good.size() - 8)), "t.idx: truncated gzip stream",
                         Error);
    CHECK_THROWS_WITH_AS(parse(good.substr(0, 12)), "t.idx: truncated gzip stream", Error);
    CHECK_THROWS_WITH_AS(parse("\x1f\x8b"), "t.idx: truncated gzip stream", Error);

    std::string bad_crc = good;
    bad_crc[bad_crc.size() - 8] ^= 1;
    CHECK_THROWS_WITH_AS(parse(bad_crc), "t.idx: corrupt gzip stream: incorrect data check", Error);
    std::string bad_length = good;
    bad_length[bad_length.size() - 4] ^= 1;
    CHECK_THROWS_WITH_AS(parse(bad_length), "t.idx: corrupt gzip stream: incorrect length check",
                         Error);
    std::string bad_method = good;
    bad_method[2] = 7;
    CHECK_THROWS_WITH_AS(parse(bad_method),
                         "t.idx: corrupt gzip stream: unknown compression method", Error);
    std::string bad_block = good;
    bad_block[10] = '\x07'; // final block of the reserved type 3
    CHECK_THROWS_WITH_AS(parse(bad_block), "t.idx: corrupt gzip stream: invalid block type", Error);

    CHECK_THROWS_WITH_AS(parse(good + "xyz"),
                         "t.idx: trailing data after the gzip stream (3 bytes, not a gzip member)",
                         Error);
    CHECK_THROWS_WITH_AS(parse(good + std::string(1, '\0')),
                         "t.idx: trailing data after the gzip stream (1 byte, not a gzip member)",
                         Error);
    CHECK_THROWS_WITH_AS(parse(good + "\x1f\x8b"), "t.idx: truncated gzip stream", Error);
}

TEST_CASE("rpb::parse_idx checks the inflated IDX file like a plain one") {
    CHECK_THROWS_WITH_AS(parse(gzip("hello")),
                         "t.idx: not an IDX file (it does not start with two zero bytes)", Error);
    CHECK_THROWS_WITH_AS(parse(gzip(std::string(2, '\0'))),
                         "t.idx: truncated IDX header: 2 bytes, at least 4 needed", Error);
    CHECK_THROWS_WITH_AS(parse(gzip(std::string("\0\0\x08\x03", 4) + be32(1) + be32(2))),
                         "t.idx: truncated IDX header: 3 dimensions need 16 bytes, 12 present",
                         Error);
    CHECK_THROWS_WITH_AS(
        parse(gzip(idx_header(0x08, {2, 3}) + "12345")),
        "t.idx: truncated IDX data: shape (2, 3) of uint8 needs 6 bytes, 5 present", Error);
    CHECK_THROWS_WITH_AS(parse(gzip(idx_header(0x08, {2, 3}) + "1234567")),
                         "t.idx: trailing data after the IDX array: shape (2, 3) of uint8 needs 6 "
                         "bytes, the gzip stream holds more",
                         Error);
}

TEST_CASE("rpb::parse_idx bounds what a gzip file can make it allocate") {
    SUBCASE("a header claiming 16 GiB over three bytes of data") {
        // Allocating what the header says would take 16 GiB (bad_alloc or the OOM killer).
        CHECK_THROWS_WITH_AS(parse(gzip(idx_header(0x08, {4294967295u, 4}) + "abc")),
                             "t.idx: truncated IDX data: shape (4294967295, 4) of uint8 needs "
                             "17179869180 bytes, 3 present",
                             Error);
    }
    SUBCASE("a gzip bomb: 10 bytes of IDX data, then 8 GiB of zeros in 8 MB") {
        std::string bomb = gzip(idx_header(0x08, {10}) + "0123456789");
        const std::string zeros = gzip(std::string(size_t{1} << 20, '\0'), 9);
        bomb.reserve(bomb.size() + 8192 * zeros.size());
        for (int i = 0; i < 8192; ++i) {
            bomb += zeros;
        }
        const auto start = std::chrono::steady_clock::now();
        CHECK_THROWS_WITH_AS(parse(bomb),
                             "t.idx: trailing data after the IDX array: shape (10,) of uint8 needs "
                             "10 bytes, the gzip stream holds more",
                             Error);
        // Inflating it all would take seconds (and 8 GiB); the reader stops one byte in.
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        CHECK(seconds < 0.5);
    }
}

TEST_CASE("rpb::read_idx_file tells gzip by content and names the file") {
    TempDir dir;
    const std::string file = valid_files()[3];
    const IdxArray plain = read_idx_file(dir.write("plain", file));
    check_same(plain, parse(file));
    check_same(read_idx_file(dir.write("a.gz", gzip(file))), plain);
    check_same(read_idx_file(dir.write("no-suffix", gzip(file))), plain);
    const std::string broken = dir.write("broken.gz", gzip(file) + "!");
    CHECK_THROWS_WITH_AS(
        read_idx_file(broken),
        (broken + ": trailing data after the gzip stream (1 byte, not a gzip member)").c_str(),
        Error);
    const std::string missing = (dir.path / "missing").string();
    CHECK_THROWS_WITH_AS(read_idx_file(missing),
                         (missing + ": cannot open: no such file or directory").c_str(), Error);
}
