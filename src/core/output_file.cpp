#include "rpb/output_file.hpp"

#include "rpb/error.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rpb {

namespace {

std::string errno_text(int error) {
    return std::strerror(error);
}

// The same device as /dev/null (whatever path or descriptor led to it): what is written
// there reaches no one.
bool is_null_device(int fd) {
    struct stat target {};
    struct stat null_device {};
    return ::fstat(fd, &target) == 0 && ::stat("/dev/null", &null_device) == 0 &&
           S_ISCHR(target.st_mode) && S_ISCHR(null_device.st_mode) &&
           target.st_rdev == null_device.st_rdev;
}

mode_t current_umask() {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    return mask;
}

} // namespace

bool stdout_is_terminal() {
    return ::isatty(STDOUT_FILENO) == 1;
}

OutputFile::OutputFile(const std::string& path) : path_(path) {
    if (path.empty()) {
        throw UsageError("-o: empty path: expected a file name, or - for standard output");
    }
    if (path == "-") {
        file_ = stdout;
        terminal_ = stdout_is_terminal();
        shows_partial_ = !is_null_device(STDOUT_FILENO);
        return;
    }
    struct stat info {};
    const bool exists = ::stat(path.c_str(), &info) == 0;
    if (exists && S_ISDIR(info.st_mode)) {
        throw Error(fmt::format("cannot write '{}': it is a directory", path));
    }
    if (exists && !S_ISREG(info.st_mode)) {
        // /dev/null, /dev/stdout, a FIFO, a device: write in place. Renaming over such a
        // path (as root) would replace the device node with a regular file.
        file_ = std::fopen(path.c_str(), "wb");
        if (file_ == nullptr) {
            fail("open");
        }
        owns_file_ = true;
        terminal_ = ::isatty(::fileno(file_)) == 1;
        shows_partial_ = !is_null_device(::fileno(file_));
        return;
    }
    // A regular or new file: write a temporary file beside it and rename on commit, so
    // that no partial output is ever visible at `path`.
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    std::string pattern = dir + "." + base + ".rpbtool-XXXXXX";
    const int fd = ::mkstemp(pattern.data());
    if (fd < 0) {
        fail("create");
    }
    // mkstemp creates 0600; give the file the mode a plain open() would have given it.
    const mode_t mode = exists ? (info.st_mode & 07777) : (0666 & ~current_umask());
    (void)::fchmod(fd, mode);
    temp_path_ = pattern;
    file_ = ::fdopen(fd, "wb");
    if (file_ == nullptr) {
        const int error = errno;
        ::close(fd);
        ::unlink(temp_path_.c_str());
        throw Error(fmt::format("cannot write '{}': {}", path_, errno_text(error)));
    }
    owns_file_ = true;
    shows_partial_ = false;
}

OutputFile::~OutputFile() {
    if (owns_file_ && file_ != nullptr) {
        std::fclose(file_);
    }
    if (!committed_ && !temp_path_.empty()) {
        ::unlink(temp_path_.c_str());
    }
}

void OutputFile::fail(std::string_view action) {
    const int error = errno;
    if (error == EPIPE) {
        throw BrokenPipe{};
    }
    throw Error(fmt::format("cannot {} '{}': {}", action,
                            path_ == "-" ? std::string("standard output") : path_,
                            errno_text(error)));
}

void OutputFile::write(const void* data, size_t size) {
    if (size == 0) {
        return;
    }
    if (std::fwrite(data, 1, size, file_) != size) {
        fail("write");
    }
}

void OutputFile::commit() {
    if (std::fflush(file_) != 0 || std::ferror(file_)) {
        fail("write");
    }
    if (owns_file_) {
        std::FILE* file = file_;
        file_ = nullptr;
        if (std::fclose(file) != 0) {
            fail("write");
        }
    }
    if (!temp_path_.empty() && std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
        fail("rename a temporary file to");
    }
    committed_ = true;
}

} // namespace rpb
