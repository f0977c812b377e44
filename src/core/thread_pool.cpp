#include "rpb/thread_pool.hpp"

#include <algorithm>
#include <system_error>

namespace rpb {

ThreadPool::ThreadPool(int threads) {
    threads_ = threads > 0 ? threads : hardware_threads();
    for (int w = 1; w < threads_; ++w) {
        try {
            workers_.emplace_back([this] { work(); });
        } catch (const std::system_error&) {
            break; // fewer threads: the tasks are shared out all the same
        }
    }
    threads_ = static_cast<int>(workers_.size()) + 1;
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    for (WorkerThread& t : workers_) {
        t.join();
    }
}

// Takes tasks until none is left; the lock is held only to hand a task out.
void ThreadPool::run_tasks() {
    std::unique_lock lock(mutex_);
    while (next_ < tasks_) {
        const int64_t task = next_++;
        lock.unlock();
        std::exception_ptr error;
        try {
            (*fn_)(task);
        } catch (...) {
            error = std::current_exception();
        }
        lock.lock();
        if (error && (error_task_ < 0 || task < error_task_)) {
            error_task_ = task;
            error_ = error;
        }
        if (++finished_ == tasks_) {
            done_.notify_all();
        }
    }
}

void ThreadPool::work() {
    uint64_t seen = 0;
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) {
            return;
        }
        seen = generation_;
        lock.unlock();
        run_tasks();
        lock.lock();
    }
}

void ThreadPool::run(int64_t tasks, const std::function<void(int64_t)>& fn) {
    if (tasks <= 0) {
        return;
    }
    if (workers_.empty() || tasks == 1) {
        // Same contract without the hand-off: the first failing task's error wins.
        std::exception_ptr error;
        for (int64_t t = 0; t < tasks; ++t) {
            try {
                fn(t);
            } catch (...) {
                if (!error) {
                    error = std::current_exception();
                }
            }
        }
        if (error) {
            std::rethrow_exception(error);
        }
        return;
    }
    {
        std::lock_guard lock(mutex_);
        fn_ = &fn;
        tasks_ = tasks;
        next_ = 0;
        finished_ = 0;
        error_task_ = -1;
        error_ = nullptr;
        ++generation_;
    }
    wake_.notify_all();
    run_tasks();
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return finished_ == tasks_; });
    fn_ = nullptr;
    tasks_ = 0;
    if (error_) {
        std::exception_ptr error = error_;
        error_ = nullptr;
        lock.unlock();
        std::rethrow_exception(error);
    }
}

} // namespace rpb
