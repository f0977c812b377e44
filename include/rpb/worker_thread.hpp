// A joinable thread that starts on another CPU than the thread creating it.
#pragma once

#include <functional>
#include <memory>

namespace rpb {

/// std::thread::hardware_concurrency(), at least 1, asked once per process: glibc answers it
/// by reading a sysfs file each time, and a streamed run would ask hundreds of times.
int hardware_threads();

/// Like std::thread (move-only, join before destruction), but the new thread is started on
/// another CPU than the one its creator runs on whenever the process may use more than one,
/// and is then free to move like any thread.
///
/// Why: Linux places a new thread by the CPUs' recent load, and on a lightly loaded machine
/// it often puts it on its creator's own CPU beside an idle one; the idle CPU pulls it over
/// only at its next balancing tick (4 ms at HZ=250). A short parallel step (a streamed
/// part of a few milliseconds) then runs its two halves one after the other (measured on
/// 2 cores: 1.16 CPUs busy over a Swin attention run).
///
/// Throws std::system_error when no thread can be started, as std::thread does.
class WorkerThread {
public:
    explicit WorkerThread(std::function<void()> body);
    WorkerThread(WorkerThread&& other) noexcept;
    WorkerThread& operator=(WorkerThread&& other) noexcept;
    WorkerThread(const WorkerThread&) = delete;
    WorkerThread& operator=(const WorkerThread&) = delete;
    ~WorkerThread(); ///< std::terminate if still joinable, as std::thread

    bool joinable() const { return state_ != nullptr; }
    void join();

private:
    struct State;
    static void* run(void* state);
    std::unique_ptr<State> state_;
};

} // namespace rpb
