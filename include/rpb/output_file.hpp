// Whole-or-nothing output. A regular (or new) file is written to a temporary file beside
// the target and renamed over it on commit(); anything else that exists (/dev/null,
// /dev/stdout, a FIFO, a device) is written directly and never renamed over; "-" is
// standard output. Destroying an uncommitted OutputFile removes the temporary file.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace rpb {

/// Thrown when the reader of a pipe went away (EPIPE): the front end exits quietly.
struct BrokenPipe {};

class OutputFile {
public:
    /// Opens `path` ("-" = standard output). Throws rpb::Error naming the path.
    explicit OutputFile(const std::string& path);
    ~OutputFile();
    OutputFile(const OutputFile&) = delete;
    OutputFile& operator=(const OutputFile&) = delete;

    void write(const void* data, size_t size);
    void write(std::string_view text) { write(text.data(), text.size()); }

    /// Flushes, checks for errors (disk full), fsyncs nothing, renames into place.
    void commit();

    /// Whether the destination is a terminal (binary output is refused there).
    bool is_terminal() const { return terminal_; }
    /// Whether bytes written before a failure could reach anyone: false for a temporary file
    /// renamed only on commit and for the null device, true for a pipe, terminal or other
    /// device written in place. Lets a writer skip work whose only purpose is to fail before
    /// the first byte (e.g. checking a streamed input in full first).
    bool shows_partial_output() const { return shows_partial_; }
    const std::string& path() const { return path_; }
    std::string display_name() const { return path_ == "-" ? "standard output" : path_; }

private:
    void fail(std::string_view action);

    std::string path_;
    std::string temp_path_; ///< empty when writing directly
    std::FILE* file_ = nullptr;
    bool owns_file_ = false;
    bool terminal_ = false;
    bool shows_partial_ = true;
    bool committed_ = false;
};

/// Whether the process's standard output is a terminal.
bool stdout_is_terminal();

} // namespace rpb
