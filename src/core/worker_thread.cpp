#include "rpb/worker_thread.hpp"

#include <algorithm>
#include <exception>
#include <pthread.h>
#include <sched.h>
#include <system_error>
#include <thread>
#include <utility>

namespace rpb {

int hardware_threads() {
    static const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return threads;
}

struct WorkerThread::State {
    std::function<void()> body;
    cpu_set_t allowed{}; ///< the creator's affinity, restored by the new thread first
    bool restore = false;
    pthread_t handle{};
};

void* WorkerThread::run(void* arg) {
    auto* state = static_cast<State*>(arg);
    if (state->restore) {
        // Started away from the creator's CPU; from here on the scheduler may move it.
        pthread_setaffinity_np(pthread_self(), sizeof(cpu_set_t), &state->allowed);
    }
    state->body();
    return nullptr;
}

WorkerThread::WorkerThread(std::function<void()> body) : state_(std::make_unique<State>()) {
    state_->body = std::move(body);
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0) {
        throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                                "pthread_attr_init");
    }
    const int cpu = sched_getcpu();
    if (cpu >= 0 && cpu < CPU_SETSIZE &&
        pthread_getaffinity_np(pthread_self(), sizeof(cpu_set_t), &state_->allowed) == 0 &&
        CPU_COUNT(&state_->allowed) > 1 && CPU_ISSET(cpu, &state_->allowed)) {
        cpu_set_t elsewhere = state_->allowed;
        CPU_CLR(cpu, &elsewhere);
        state_->restore = pthread_attr_setaffinity_np(&attr, sizeof(cpu_set_t), &elsewhere) == 0;
    }
    int rc = pthread_create(&state_->handle, &attr, run, state_.get());
    if (rc != 0 && state_->restore) {
        // The placement is a preference: start the thread anywhere rather than not at all.
        state_->restore = false;
        rc = pthread_create(&state_->handle, nullptr, run, state_.get());
    }
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        throw std::system_error(rc, std::generic_category(), "pthread_create");
    }
}

WorkerThread::WorkerThread(WorkerThread&& other) noexcept = default;

WorkerThread& WorkerThread::operator=(WorkerThread&& other) noexcept {
    if (joinable()) {
        std::terminate();
    }
    state_ = std::move(other.state_);
    return *this;
}

WorkerThread::~WorkerThread() {
    if (joinable()) {
        std::terminate();
    }
}

void WorkerThread::join() {
    if (!joinable()) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "WorkerThread::join: not joinable");
    }
    pthread_join(state_->handle, nullptr);
    state_.reset();
}

} // namespace rpb
