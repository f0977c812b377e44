// Hugging Face .safetensors files: reading (hardened like the reference reader) and writing.
// formats.md "safetensors" lists the rules.
#pragma once

#include "rpb/array.hpp"

#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rpb {

/// Tensors by name (sorted, as the reference writer orders them).
using TensorMap = std::map<std::string, Array>;

/// Parses an in-memory .safetensors file; `origin` names it in error messages. Throws
/// rpb::Error "<origin>: <what is wrong>" for every malformed input; never allocates more
/// than the input's size. Validates like the reference reader: header size <= 1e8 and
/// within the file, UTF-8 JSON object, dtypes F32 F64 F16 BF16 I64 I32 I16 I8 U8 BOOL,
/// shapes and offsets non-negative integers, entries tiling the data buffer exactly (no
/// gap, overlap or trailing byte), byte sizes matching overflow-checked shapes. Stricter
/// than the reference in refusing duplicate names and duplicate keys. "__metadata__" must
/// be a string-to-string map (or null) and is not returned; unknown keys inside an entry
/// are ignored, as by the reference.
TensorMap parse_safetensors(std::span<const std::byte> file, std::string_view origin);

/// Reads and parses a .safetensors file ("-" reads standard input).
TensorMap read_safetensors(const std::string& path);

/// The "__metadata__" string map of a .safetensors file (empty when it has none).
using SafetensorsMetadata = std::map<std::string, std::string>;

/// parse_safetensors, also returning the metadata map in `metadata`.
TensorMap parse_safetensors(std::span<const std::byte> file, std::string_view origin,
                            SafetensorsMetadata& metadata);

/// read_safetensors, also returning the metadata map in `metadata`.
TensorMap read_safetensors(const std::string& path, SafetensorsMetadata& metadata);

/// A whole .safetensors file of float32 tensors, byte-identical to what the reference
/// save_file writes: entries sorted by name, compact JSON with keys dtype, shape,
/// data_offsets, header padded with spaces to a multiple of 8, data in name order.
/// Throws rpb::Error for duplicate names, the reserved name "__metadata__" or a name
/// that is not valid UTF-8. A non-empty `metadata` is written first as "__metadata__", as
/// the reference writer does (keys sorted, values JSON-escaped).
std::string safetensors_bytes(const std::vector<std::pair<std::string, FloatTensor>>& tensors,
                              const std::map<std::string, std::string>& metadata = {});

} // namespace rpb
