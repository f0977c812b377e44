#include "progress.hpp"

#include <cstdio>
#include <fmt/format.h>
#include <unistd.h>

namespace rpb::cli {

namespace {
constexpr int64_t min_bytes_for_progress = int64_t{256} << 20;
}

Progress::Progress(std::string label, int64_t total_bytes, bool quiet)
    : label_(std::move(label)), total_bytes_(total_bytes),
      enabled_(!quiet && total_bytes >= min_bytes_for_progress && ::isatty(STDERR_FILENO) == 1),
      last_(std::chrono::steady_clock::now()) {}

Progress::~Progress() {
    if (shown_) {
        fmt::print(stderr, "\r\033[K");
    }
}

void Progress::update(int64_t done, int64_t total) {
    if (!enabled_ || total <= 0) {
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(200) && done < total) {
        return;
    }
    last_ = now;
    shown_ = true;
    const double fraction = static_cast<double>(done) / static_cast<double>(total);
    fmt::print(stderr, "\rrpbtool: {} {:3.0f}% ({:.1f} of {:.1f} GB)", label_, 100 * fraction,
               fraction * static_cast<double>(total_bytes_) / 1e9,
               static_cast<double>(total_bytes_) / 1e9);
    std::fflush(stderr);
}

} // namespace rpb::cli
