#include "rpb/array.hpp"
#include "rpb/error.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <doctest/doctest.h>
#include <limits>
#include <vector>

using namespace rpb;

namespace {

template <typename T>
Array make_array(DType dtype, Shape shape, const std::vector<T>& values) {
    Array array;
    array.dtype = dtype;
    array.shape = std::move(shape);
    array.bytes.resize(values.size() * sizeof(T));
    std::memcpy(array.bytes.data(), values.data(), array.bytes.size());
    return array;
}

uint32_t bits(float value) {
    return std::bit_cast<uint32_t>(value);
}

} // namespace

TEST_CASE("rpb::dtype_size and rpb::dtype_name") {
    CHECK(dtype_size(DType::f16) == 2);
    CHECK(dtype_size(DType::bf16) == 2);
    CHECK(dtype_size(DType::f32) == 4);
    CHECK(dtype_size(DType::f64) == 8);
    CHECK(dtype_size(DType::i8) == 1);
    CHECK(dtype_size(DType::i16) == 2);
    CHECK(dtype_size(DType::i32) == 4);
    CHECK(dtype_size(DType::i64) == 8);
    CHECK(dtype_size(DType::u8) == 1);
    CHECK(dtype_size(DType::boolean) == 1);
    CHECK(dtype_name(DType::f16) == "float16");
    CHECK(dtype_name(DType::bf16) == "bfloat16");
    CHECK(dtype_name(DType::f32) == "float32");
    CHECK(dtype_name(DType::f64) == "float64");
    CHECK(dtype_name(DType::i32) == "int32");
    CHECK(dtype_name(DType::u8) == "uint8");
    CHECK(dtype_name(DType::boolean) == "bool");
}

TEST_CASE("rpb::to_float32 converts float16 bit patterns exactly") {
    // IEEE binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
    const std::vector<uint16_t> halves = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff,
                                          0x0400, 0x8000, 0x3555, 0x8001, 0x0000};
    const FloatTensor out = to_float32(make_array(DType::f16, {10}, halves), "t");
    REQUIRE(out.size() == 10);
    CHECK(bits(out[0]) == bits(1.0f));
    CHECK(bits(out[1]) == bits(-2.0f));
    CHECK(bits(out[2]) == bits(65504.0f));
    CHECK(bits(out[3]) == bits(std::ldexp(1.0f, -24)));    // smallest subnormal
    CHECK(bits(out[4]) == bits(std::ldexp(1023.0f, -24))); // largest subnormal
    CHECK(bits(out[5]) == bits(std::ldexp(1.0f, -14)));    // smallest normal
    CHECK(bits(out[6]) == 0x80000000u);                    // -0
    CHECK(bits(out[7]) == bits(1365.0f / 4096.0f));        // 0.333251953125
    CHECK(bits(out[8]) == bits(-std::ldexp(1.0f, -24)));
    CHECK(bits(out[9]) == 0u);
}

TEST_CASE("rpb::to_float32 refuses float16 infinities and nan") {
    CHECK_THROWS_WITH_AS(
        to_float32(make_array<uint16_t>(DType::f16, {2}, {0x3c00, 0x7c00}), "table.npy"),
        "table.npy: element (1,) is inf (values must be finite)", Error);
    CHECK_THROWS_WITH_AS(to_float32(make_array<uint16_t>(DType::f16, {1, 1}, {0xfc00}), "w"),
                         "w: element (0, 0) is -inf (values must be finite)", Error);
    CHECK_THROWS_WITH_AS(to_float32(make_array<uint16_t>(DType::f16, {1}, {0x7e00}), "w"),
                         "w: element (0,) is nan (values must be finite)", Error);
}

TEST_CASE("rpb::to_float32 converts bfloat16 bit patterns exactly") {
    const std::vector<uint16_t> halves = {0x3f80, 0xc000, 0x7f7f, 0x0001, 0x3eab};
    const FloatTensor out = to_float32(make_array(DType::bf16, {5}, halves), "t");
    CHECK(bits(out[0]) == bits(1.0f));
    CHECK(bits(out[1]) == bits(-2.0f));
    CHECK(bits(out[2]) == 0x7f7f0000u);
    CHECK(out[2] == std::ldexp(255.0f, 120)); // (2 - 2^-7) * 2^127
    CHECK(bits(out[3]) == bits(std::ldexp(1.0f, -133)));
    CHECK(bits(out[4]) == bits(171.0f / 512.0f)); // 0.333984375
    CHECK_THROWS_WITH_AS(to_float32(make_array<uint16_t>(DType::bf16, {3}, {0, 0, 0x7f80}), "b"),
                         "b: element (2,) is inf (values must be finite)", Error);
    CHECK_THROWS_WITH_AS(to_float32(make_array<uint16_t>(DType::bf16, {1}, {0xffc0}), "b"),
                         "b: element (0,) is nan (values must be finite)", Error);
}

TEST_CASE("rpb::to_float32 converts float64 and integers with numpy's rounding") {
    const FloatTensor f =
        to_float32(make_array<double>(DType::f64, {2, 2}, {0.1, -1.5, 16777217.0, 1e-50}), "d");
    CHECK(f.shape() == Shape{2, 2});
    CHECK(bits(f[0]) == bits(0.1f));
    CHECK(f[1] == -1.5f);
    CHECK(f[2] == 16777216.0f); // ties to even
    CHECK(f[3] == 0.0f);
    CHECK_THROWS_WITH_AS(to_float32(make_array<double>(DType::f64, {2}, {1.0, 1e300}), "d"),
                         "d: element (1,) = 1e+300 overflows float32", Error);
    CHECK_THROWS_WITH_AS(to_float32(make_array<double>(DType::f64, {1}, {std::nan("")}), "d"),
                         "d: element (0,) is nan (values must be finite)", Error);
    CHECK_THROWS_WITH_AS(to_float32(make_array<float>(DType::f32, {1}, {-INFINITY}), "f"),
                         "f: element (0,) is -inf (values must be finite)", Error);

    const FloatTensor i64 =
        to_float32(make_array<int64_t>(DType::i64, {2}, {-3, (int64_t{1} << 24) + 1}), "i");
    CHECK(i64[0] == -3.0f);
    CHECK(i64[1] == 16777216.0f);
    CHECK(to_float32(make_array<int8_t>(DType::i8, {1}, {-128}), "i")[0] == -128.0f);
    CHECK(to_float32(make_array<uint8_t>(DType::u8, {1}, {255}), "i")[0] == 255.0f);
    CHECK(to_float32(make_array<int16_t>(DType::i16, {1}, {-300}), "i")[0] == -300.0f);
    const FloatTensor b = to_float32(make_array<uint8_t>(DType::boolean, {2}, {0, 1}), "b");
    CHECK(b[0] == 0.0f);
    CHECK(b[1] == 1.0f);
}

TEST_CASE("rpb::to_float32 refuses data that does not match the shape") {
    CHECK_THROWS_WITH_AS(to_float32(make_array<float>(DType::f32, {3}, {1, 2}), "x"),
                         "x: array data is 8 bytes, shape (3,) of float32 needs 12", Error);
}

TEST_CASE("rpb::to_int32") {
    const IntTensor a = to_int32(make_array<int64_t>(DType::i64, {3}, {-5, 0, 2147483647}), "i");
    CHECK(a[0] == -5);
    CHECK(a[2] == 2147483647);
    const IntTensor f = to_int32(make_array<float>(DType::f32, {2}, {3.0f, -7.0f}), "f");
    CHECK(f[0] == 3);
    CHECK(f[1] == -7);
    CHECK(to_int32(make_array<uint8_t>(DType::u8, {1}, {200}), "u")[0] == 200);
    CHECK_THROWS_WITH_AS(to_int32(make_array<int64_t>(DType::i64, {2}, {1, 3000000000}), "idx"),
                         "idx: element (1,) = 3000000000 does not fit in int32", Error);
    CHECK_THROWS_WITH_AS(to_int32(make_array<float>(DType::f32, {1, 2}, {1.0f, 2.5f}), "idx"),
                         "idx: element (0, 1) = 2.5 is not an integer", Error);
    CHECK_THROWS_WITH_AS(to_int32(make_array<double>(DType::f64, {1}, {-3e9}), "idx"),
                         "idx: element (0,) = -3000000000 does not fit in int32", Error);
    CHECK_THROWS_WITH_AS(to_int32(make_array<float>(DType::f32, {1}, {NAN}), "idx"),
                         "idx: element (0,) is nan (values must be finite)", Error);
}
