#include "format_io.hpp"

#include "rpb/error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <sys/stat.h>

namespace rpb::detail {

std::string errno_text(int err) {
    // strerror texts start with a capital ("No such file"); house messages are lower case.
    std::string text = std::strerror(err);
    if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') {
        text[0] = static_cast<char>(text[0] - 'A' + 'a');
    }
    return text;
}

namespace {

void read_all(std::FILE* file, const std::string& origin, std::vector<std::byte>& out) {
    // Start small and double up to 64 MiB per step: a pipe announces no length, and a
    // regular file's size is only a hint (it may grow or shrink while we read).
    size_t chunk = 64 * 1024;
    for (;;) {
        const size_t old = out.size();
        out.resize(old + chunk);
        const size_t got = std::fread(out.data() + old, 1, chunk, file);
        out.resize(old + got);
        if (got < chunk) {
            if (std::ferror(file)) {
                throw Error(fmt::format("{}: cannot read: {}", origin, errno_text(errno)));
            }
            return;
        }
        chunk = std::min<size_t>(chunk * 2, size_t{64} << 20);
    }
}

} // namespace

FileBytes read_whole_file(const std::string& path) {
    FileBytes result;
    if (path == "-") {
        result.origin = "standard input";
        read_all(stdin, result.origin, result.bytes);
        return result;
    }
    result.origin = path;
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) {
        throw Error(fmt::format("{}: cannot open: {}", path, errno_text(errno)));
    }
    struct stat info {};
    if (::fstat(fileno(file), &info) == 0 && S_ISREG(info.st_mode) && info.st_size > 0) {
        result.bytes.reserve(static_cast<size_t>(info.st_size) + 1);
    }
    try {
        read_all(file, path, result.bytes);
    } catch (...) {
        std::fclose(file);
        throw;
    }
    std::fclose(file);
    return result;
}

std::string printable(std::string_view text, size_t max_chars) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (i == max_chars) {
            out += "...";
            break;
        }
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '\\') {
            out += "\\\\";
        } else if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("\\x{:02x}", c);
        }
    }
    return out;
}

uint64_t load_le(const std::byte* p, size_t n) {
    uint64_t value = 0;
    for (size_t i = n; i-- > 0;) {
        value = (value << 8) | static_cast<uint64_t>(p[i]);
    }
    return value;
}

std::string index_string(const std::vector<int64_t>& shape, int64_t flat) {
    std::vector<int64_t> index(shape.size());
    for (size_t k = shape.size(); k-- > 0;) {
        if (shape[k] > 0) {
            index[k] = flat % shape[k];
            flat /= shape[k];
        }
    }
    std::string s = "(";
    for (size_t k = 0; k < index.size(); ++k) {
        s += fmt::format("{}{}", k ? ", " : "", index[k]);
    }
    return s + (index.size() == 1 ? ",)" : ")");
}

} // namespace rpb::detail
