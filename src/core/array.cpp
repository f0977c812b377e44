#include "rpb/array.hpp"

#include "format_io.hpp"
#include "rpb/error.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <fmt/format.h>

namespace rpb {

// Array bytes are little-endian by contract; on a little-endian host they can be copied
// straight into native integers and floats.
static_assert(std::endian::native == std::endian::little, "rpbtool assumes a little-endian host");

size_t dtype_size(DType dtype) {
    switch (dtype) {
    case DType::i8:
    case DType::u8:
    case DType::boolean:
        return 1;
    case DType::f16:
    case DType::bf16:
    case DType::i16:
        return 2;
    case DType::f32:
    case DType::i32:
        return 4;
    case DType::f64:
    case DType::i64:
        return 8;
    }
    return 0;
}

std::string_view dtype_name(DType dtype) {
    switch (dtype) {
    case DType::f16:
        return "float16";
    case DType::bf16:
        return "bfloat16";
    case DType::f32:
        return "float32";
    case DType::f64:
        return "float64";
    case DType::i8:
        return "int8";
    case DType::i16:
        return "int16";
    case DType::i32:
        return "int32";
    case DType::i64:
        return "int64";
    case DType::u8:
        return "uint8";
    case DType::boolean:
        return "bool";
    }
    return "unknown";
}

namespace {

// IEEE binary16 -> binary32 by moving the fields: every half value (subnormals included)
// is exactly representable as a float, so no rounding is involved. NaN payloads and
// infinities map to the float NaN/infinity with the same sign and payload.
float half_to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    uint32_t bits = 0;
    if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        bits = sign;
    } else {
        // Subnormal: mantissa * 2^-24. Shift the leading one into the implicit-bit slot.
        int32_t e = -14;
        while ((mantissa & 0x400u) == 0) {
            mantissa <<= 1;
            --e;
        }
        bits = sign | (static_cast<uint32_t>(e + 127) << 23) | ((mantissa & 0x3ffu) << 13);
    }
    return std::bit_cast<float>(bits);
}

// bfloat16 is the upper half of a binary32.
float bf16_to_float(uint16_t h) {
    return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

template <typename T>
T load(const std::byte* p) {
    T value;
    std::memcpy(&value, p, sizeof(T));
    return value;
}

// Reads element `i` of raw little-endian `dtype` data as a double: exact for every dtype
// but int64 beyond 2^53, where only messages use it.
double element(const std::byte* data, DType dtype, int64_t i) {
    const std::byte* p = data + static_cast<size_t>(i) * dtype_size(dtype);
    switch (dtype) {
    case DType::f16:
        return half_to_float(load<uint16_t>(p));
    case DType::bf16:
        return bf16_to_float(load<uint16_t>(p));
    case DType::f32:
        return load<float>(p);
    case DType::f64:
        return load<double>(p);
    case DType::i8:
        return load<int8_t>(p);
    case DType::i16:
        return load<int16_t>(p);
    case DType::i32:
        return load<int32_t>(p);
    case DType::i64:
        return static_cast<double>(load<int64_t>(p));
    case DType::u8:
        return load<uint8_t>(p);
    case DType::boolean:
        return load<uint8_t>(p) != 0 ? 1.0 : 0.0;
    }
    return 0;
}

double element(const Array& array, int64_t i) {
    return element(array.bytes.data(), array.dtype, i);
}

int64_t checked_count(const Array& array, std::string_view what) {
    const auto itemsize = static_cast<int64_t>(dtype_size(array.dtype));
    int64_t count = 0;
    try {
        count = shape_size(array.shape, INT64_MAX / itemsize);
    } catch (const Error& e) {
        throw Error(fmt::format("{}: {}", what, e.what()));
    }
    if (static_cast<uint64_t>(count * itemsize) != array.bytes.size()) {
        throw Error(fmt::format("{}: array data is {} bytes, shape {} of {} needs {}", what,
                                array.bytes.size(), shape_string(array.shape),
                                dtype_name(array.dtype), count * itemsize));
    }
    return count;
}

[[noreturn]] void throw_not_finite(const Shape& shape, std::string_view what, int64_t i,
                                   double value) {
    throw Error(fmt::format("{}: element {} is {} (values must be finite)", what,
                            detail::index_string(shape, i),
                            std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf")));
}

template <typename T, typename Convert>
void convert_all(const std::byte* data, float* out, int64_t count, Convert convert) {
    for (int64_t i = 0; i < count; ++i) {
        out[i] = convert(load<T>(data + static_cast<size_t>(i) * sizeof(T)));
    }
}

} // namespace

int64_t first_non_finite(const float* values, int64_t count) {
    constexpr int64_t block = 1024;
    constexpr uint32_t exponent = 0x7f800000u; // all ones: inf or nan
    for (int64_t begin = 0; begin < count; begin += block) {
        const int64_t end = std::min(count, begin + block);
        uint32_t any = 0;
        for (int64_t i = begin; i < end; ++i) {
            any |=
                static_cast<uint32_t>((std::bit_cast<uint32_t>(values[i]) & exponent) == exponent);
        }
        if (any != 0) {
            for (int64_t i = begin; i < end; ++i) {
                if (!std::isfinite(values[i])) {
                    return i;
                }
            }
        }
    }
    return count;
}

void convert_to_float32(const std::byte* data, DType dtype, int64_t count, float* out,
                        const Shape& shape, int64_t first, std::string_view what) {
    switch (dtype) {
    case DType::f16:
        convert_all<uint16_t>(data, out, count, half_to_float);
        break;
    case DType::bf16:
        convert_all<uint16_t>(data, out, count, bf16_to_float);
        break;
    case DType::f32:
        if (count > 0 && reinterpret_cast<const void*>(data) != out) {
            std::memcpy(out, data, static_cast<size_t>(count) * sizeof(float));
        }
        break;
    case DType::f64:
        // Round to nearest like numpy's astype(float32).
        convert_all<double>(data, out, count, [](double v) { return static_cast<float>(v); });
        break;
    case DType::i64:
        convert_all<int64_t>(data, out, count, [](int64_t v) { return static_cast<float>(v); });
        return;
    default:
        // Narrower integers and bools are exact in a double; one rounding to float.
        for (int64_t i = 0; i < count; ++i) {
            out[i] = static_cast<float>(element(data, dtype, i));
        }
        return;
    }
    if (const int64_t i = first_non_finite(out, count); i < count) {
        const double v = element(data, dtype, i);
        if (std::isfinite(v)) {
            throw Error(fmt::format("{}: element {} = {} overflows float32", what,
                                    detail::index_string(shape, first + i), v));
        }
        throw_not_finite(shape, what, first + i, v);
    }
}

FloatTensor to_float32(const Array& array, std::string_view what) {
    const int64_t count = checked_count(array, what);
    FloatTensor result(array.shape);
    convert_to_float32(array.bytes.data(), array.dtype, count, result.data(), array.shape, 0, what);
    return result;
}

IntTensor to_int32(const Array& array, std::string_view what) {
    const int64_t count = checked_count(array, what);
    IntTensor result(array.shape);
    int32_t* out = result.data();
    for (int64_t i = 0; i < count; ++i) {
        int64_t value = 0;
        if (array.dtype == DType::i64) {
            value = load<int64_t>(array.bytes.data() + static_cast<size_t>(i) * 8);
        } else {
            const double v = element(array, i);
            if (!std::isfinite(v)) {
                throw_not_finite(array.shape, what, i, v);
            }
            if (std::trunc(v) != v) {
                throw Error(fmt::format("{}: element {} = {} is not an integer", what,
                                        detail::index_string(array.shape, i), v));
            }
            if (v < -2147483648.0 || v > 2147483647.0) {
                throw Error(fmt::format("{}: element {} = {} does not fit in int32", what,
                                        detail::index_string(array.shape, i), v));
            }
            value = static_cast<int64_t>(v);
        }
        if (value < INT32_MIN || value > INT32_MAX) {
            throw Error(fmt::format("{}: element {} = {} does not fit in int32", what,
                                    detail::index_string(array.shape, i), value));
        }
        out[i] = static_cast<int32_t>(value);
    }
    return result;
}

} // namespace rpb
