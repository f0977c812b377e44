#include "rpb/safetensors_file.hpp"

#include "format_io.hpp"
#include "format_safetensors_header.hpp"
#include "rpb/error.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rpb {

SafetensorsFile::SafetensorsFile(const std::string& path) : origin_(path) {
    int fd = path == "-" ? -1 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (path != "-" && fd < 0) {
        throw Error(fmt::format("{}: cannot open: {}", path, detail::errno_text(errno)));
    }
    struct stat info {};
    if (fd >= 0 && ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size > 0) {
        // A mapping costs nothing until a page is touched: inspecting a checkpoint reads its
        // header and the few tensors it uses, whatever the file's size.
        void* p = ::mmap(nullptr, static_cast<size_t>(info.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            data_ = static_cast<const std::byte*>(p);
            size_ = static_cast<size_t>(info.st_size);
            mapped_ = true;
        }
    }
    if (fd >= 0) {
        ::close(fd);
    }
    if (!mapped_) {
        detail::FileBytes file = detail::read_whole_file(path);
        origin_ = file.origin;
        owned_ = std::move(file.bytes);
        data_ = owned_.data();
        size_ = owned_.size();
    }
    index();
}

SafetensorsFile::SafetensorsFile(std::vector<std::byte> bytes, std::string origin)
    : origin_(std::move(origin)), owned_(std::move(bytes)) {
    data_ = owned_.data();
    size_ = owned_.size();
    index();
}

void SafetensorsFile::index() {
    try {
        std::vector<detail::SafetensorsEntry> parsed;
        const uint64_t start =
            detail::index_safetensors({data_, size_}, origin_, parsed, &metadata_);
        entries_.reserve(parsed.size());
        for (auto& e : parsed) {
            entries_.push_back({std::move(e.name), e.dtype, std::move(e.shape),
                                start + e.offsets[0], start + e.offsets[1]});
        }
    } catch (...) {
        if (mapped_) {
            ::munmap(const_cast<std::byte*>(data_), size_);
        }
        throw;
    }
    std::sort(entries_.begin(), entries_.end(),
              [](const Entry& a, const Entry& b) { return a.name < b.name; });
}

SafetensorsFile::~SafetensorsFile() {
    if (mapped_) {
        ::munmap(const_cast<std::byte*>(data_), size_);
    }
}

const SafetensorsFile::Entry* SafetensorsFile::find(std::string_view name) const {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                               [](const Entry& e, std::string_view n) { return e.name < n; });
    return it != entries_.end() && it->name == name ? &*it : nullptr;
}

std::span<const std::byte> SafetensorsFile::bytes(const Entry& entry) const {
    return {data_ + entry.begin, static_cast<size_t>(entry.end - entry.begin)};
}

Array SafetensorsFile::read(const Entry& entry) const {
    Array array;
    array.dtype = entry.dtype;
    array.shape = entry.shape;
    const auto b = bytes(entry);
    array.bytes.assign(b.begin(), b.end());
    return array;
}

FloatTensor SafetensorsFile::read_float32(const Entry& entry) const {
    FloatTensor out(entry.shape);
    convert_to_float32(data_ + entry.begin, entry.dtype, out.size(), out.data(), entry.shape, 0,
                       fmt::format("{}:{}", origin_, detail::printable(entry.name)));
    return out;
}

} // namespace rpb
