// A fixed set of worker threads that stay alive between parallel steps. Training runs a few
// hundred short parallel steps per optimisation step (one per layer and pass); starting
// threads for each would cost more than some of the steps themselves.
#pragma once

#include "rpb/worker_thread.hpp"

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <vector>

namespace rpb {

class ThreadPool {
public:
    /// `threads` workers in all, the calling thread included (0: one per hardware thread).
    explicit ThreadPool(int threads = 0);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    /// Threads that run tasks, the caller included.
    int threads() const { return threads_; }

    /// Runs fn(task) for task = 0 .. tasks-1 on the workers and the calling thread, and
    /// returns when all are done. Which thread runs a task is not fixed, so a task must write
    /// only its own outputs: results then depend on the tasks, never on the thread count.
    /// When tasks throw, the exception of the lowest-numbered failing task is rethrown (the
    /// same one whatever the threads); later tasks still run. Not reentrant: fn must not call
    /// run on the same pool.
    void run(int64_t tasks, const std::function<void(int64_t task)>& fn);

private:
    void work();
    void run_tasks();

    int threads_ = 1;
    std::vector<WorkerThread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    const std::function<void(int64_t)>* fn_ = nullptr;
    int64_t tasks_ = 0;
    int64_t next_ = 0;     // next task to hand out (under mutex_)
    int64_t finished_ = 0; // tasks done in this run
    uint64_t generation_ = 0;
    bool stop_ = false;
    int64_t error_task_ = -1;
    std::exception_ptr error_;
};

} // namespace rpb
