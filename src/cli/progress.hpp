// Progress on standard error for long jobs: only when standard error is a terminal and
// never with --quiet, so pipelines and logs stay clean.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace rpb::cli {

class Progress {
public:
    /// `label` e.g. "bias"; `total_bytes` sizes the job; small jobs show nothing.
    Progress(std::string label, int64_t total_bytes, bool quiet);
    ~Progress();

    /// Reports `done` of `total` units (rows); throttled to a few updates a second.
    void update(int64_t done, int64_t total);

private:
    std::string label_;
    int64_t total_bytes_;
    bool enabled_;
    bool shown_ = false;
    std::chrono::steady_clock::time_point last_;
};

} // namespace rpb::cli
