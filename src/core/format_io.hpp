// Private helpers shared by the file-format readers (npy.cpp, safetensors.cpp, array.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rpb::detail {

/// A whole input file and the name to use for it in messages.
struct FileBytes {
    std::string origin; ///< the path, or "standard input" for "-"
    std::vector<std::byte> bytes;
};

/// strerror(err) starting in lower case, as house messages do ("no such file or directory").
std::string errno_text(int err);

/// Reads all of `path` ("-" = standard input, binary). Growth is geometric in bounded
/// steps, so a pipe of unknown length never triggers a huge up-front allocation.
/// Throws rpb::Error "<path>: cannot open: <reason>" or "<path>: cannot read: <reason>".
FileBytes read_whole_file(const std::string& path);

/// `text` made safe for a one-line message: bytes outside printable ASCII become \xNN,
/// a backslash becomes \\, and text longer than `max_chars` is cut with "...".
std::string printable(std::string_view text, size_t max_chars = 64);

/// Little-endian unsigned integer of `n` bytes (n <= 8) at `p`.
uint64_t load_le(const std::byte* p, size_t n);

/// "(1, 3)": the C-order multi-index of flat element `flat` of `shape`, for messages.
std::string index_string(const std::vector<int64_t>& shape, int64_t flat);

} // namespace rpb::detail
