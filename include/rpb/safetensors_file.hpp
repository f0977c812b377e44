// A .safetensors file opened for reading tensor by tensor: the file is mapped, not read, so
// listing a 1 GB checkpoint touches only its header and each tensor asked for is copied
// (and converted) alone. Validation is the same as parse_safetensors (safetensors.hpp).
#pragma once

#include "rpb/array.hpp"
#include "rpb/safetensors.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rpb {

class SafetensorsFile {
public:
    /// One tensor: its name, dtype, shape and byte range in the file.
    struct Entry {
        std::string name;
        DType dtype = DType::f32;
        Shape shape;
        uint64_t begin = 0; ///< file offset of the first byte
        uint64_t end = 0;   ///< file offset past the last byte
    };

    /// Maps `path` (a regular file; "-" or a pipe is read whole) and validates it.
    /// Throws rpb::Error "<path>: cannot open: ..." or the parse_safetensors messages.
    explicit SafetensorsFile(const std::string& path);
    /// The same over bytes already in memory (tests, fuzzing); `origin` names them.
    SafetensorsFile(std::vector<std::byte> bytes, std::string origin);
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    const std::string& origin() const { return origin_; }
    /// Every tensor, sorted by name.
    const std::vector<Entry>& entries() const { return entries_; }
    /// The tensor `name`, or nullptr.
    const Entry* find(std::string_view name) const;
    /// The "__metadata__" map (empty when absent).
    const SafetensorsMetadata& metadata() const { return metadata_; }
    /// The raw bytes of a tensor (valid while this object lives).
    std::span<const std::byte> bytes(const Entry& entry) const;
    /// A copy of one tensor.
    Array read(const Entry& entry) const;
    /// The tensor as float32, converted (rpb::Error "<origin>:<name>: ..." for NaN, inf,
    /// values out of range).
    FloatTensor read_float32(const Entry& entry) const;
    /// The whole file's bytes.
    std::span<const std::byte> file_bytes() const { return {data_, size_}; }

private:
    void index(); ///< validates the header and fills entries_ (unmaps on error)

    std::string origin_;
    const std::byte* data_ = nullptr;
    size_t size_ = 0;
    bool mapped_ = false;
    std::vector<std::byte> owned_; ///< when the input could not be mapped
    std::vector<Entry> entries_;
    SafetensorsMetadata metadata_;
};

} // namespace rpb
