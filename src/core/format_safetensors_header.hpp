// Private: the JSON header of a .safetensors file (safetensors.cpp).
#pragma once

#include "rpb/array.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rpb::detail {

struct SafetensorsEntry {
    std::string name;
    DType dtype = DType::f32;
    Shape shape;
    std::vector<uint64_t> offsets; ///< [begin, end] once parsed
    unsigned seen = 0;             ///< bit 0 dtype, 1 shape, 2 data_offsets
};

/// Parses the header (UTF-8 JSON object of entries plus an optional "__metadata__"
/// string map) into its entries, in file order, each with dtype, shape and two offsets.
/// Throws rpb::Error "<origin>: ..." for invalid UTF-8 or JSON, a non-object, duplicate
/// names or keys, unsupported dtypes, malformed shapes/offsets/metadata, missing keys.
/// Offsets are not checked against each other here. When `metadata` is given it receives the
/// "__metadata__" map (empty when there is none).
std::vector<SafetensorsEntry>
parse_safetensors_header(std::string_view header, std::string_view origin,
                         std::map<std::string, std::string>* metadata = nullptr);

/// "F32", "I64", ...: the name the format gives a dtype.
std::string_view safetensors_dtype_name(DType dtype);

/// Validates a whole in-memory (or mapped) .safetensors file as parse_safetensors does
/// (header size, JSON, offsets tiling the buffer exactly, sizes matching shapes) without
/// touching the tensor data, filling `entries` (file order) and `metadata` when given.
/// Returns the file offset of the data buffer (8 + header size). Throws rpb::Error.
uint64_t index_safetensors(std::span<const std::byte> file, std::string_view origin,
                           std::vector<SafetensorsEntry>& entries,
                           std::map<std::string, std::string>* metadata);

} // namespace rpb::detail
