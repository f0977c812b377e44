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
/// rpb::Error for every malformed input; never allocates more than the input's size.
TensorMap parse_safetensors(std::span<const std::byte> file, std::string_view origin);

/// Reads and parses a .safetensors file.
TensorMap read_safetensors(const std::string& path);

/// A whole .safetensors file (float32 tensors, header padded to a multiple of 8).
std::string safetensors_bytes(const std::vector<std::pair<std::string, FloatTensor>>& tensors);

} // namespace rpb
