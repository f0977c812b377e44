// A typed array as read from a file (NPY or safetensors), before conversion.
#pragma once

#include "rpb/tensor.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rpb {

enum class DType { f16, bf16, f32, f64, i8, i16, i32, i64, u8, boolean };

/// Bytes per element.
size_t dtype_size(DType dtype);
/// "float32", "bfloat16", "int32", ...: numpy-style names used in messages.
std::string_view dtype_name(DType dtype);

/// Raw little-endian, row-major data of one array with its element type and shape.
struct Array {
    DType dtype = DType::f32;
    Shape shape;
    std::vector<std::byte> bytes;
};

/// Converts to float32 (f16/bf16/f64/ints). float16 and bfloat16 are widened exactly
/// (subnormals included); float64 and int64 round to nearest, like numpy's astype.
/// Throws rpb::Error "<what>: element (i, j) is nan (values must be finite)" (or inf,
/// -inf, "= 1e+300 overflows float32"), or when the bytes do not match the shape.
FloatTensor to_float32(const Array& array, std::string_view what);

/// Index of the first NaN or infinity in values[0, count), or count when there is none.
/// Tests blocks of values branch-free (vectorised), so a pass costs about a memory read.
int64_t first_non_finite(const float* values, int64_t count);

/// to_float32 for a range of raw little-endian data: elements [first, first + count) of an
/// array of `shape`, from `data` (dtype-sized elements) into `out`. Messages name positions
/// in the whole array. For f32, `data` may be `out` itself (checked in place).
void convert_to_float32(const std::byte* data, DType dtype, int64_t count, float* out,
                        const Shape& shape, int64_t first, std::string_view what);

/// Converts an integer or floating array to int32. Throws rpb::Error "<what>: element
/// (i,) = 2.5 is not an integer" / "= 3000000000 does not fit in int32" / "is nan ...".
IntTensor to_int32(const Array& array, std::string_view what);

} // namespace rpb
