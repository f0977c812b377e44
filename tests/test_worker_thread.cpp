#include "rpb/worker_thread.hpp"

#include <atomic>
#include <doctest/doctest.h>
#include <pthread.h>
#include <sched.h>
#include <system_error>
#include <utility>
#include <vector>

namespace {

cpu_set_t own_affinity() {
    cpu_set_t set;
    CPU_ZERO(&set);
    REQUIRE(pthread_getaffinity_np(pthread_self(), sizeof(set), &set) == 0);
    return set;
}

} // namespace

TEST_CASE("WorkerThread runs its body once and joins") {
    std::atomic<int> runs{0};
    rpb::WorkerThread thread([&] { runs.fetch_add(1); });
    CHECK(thread.joinable());
    thread.join();
    CHECK_FALSE(thread.joinable());
    CHECK(runs.load() == 1);
    CHECK_THROWS_AS(thread.join(), std::system_error);
}

TEST_CASE("WorkerThread moves like std::thread") {
    std::vector<rpb::WorkerThread> pool;
    std::atomic<int> sum{0};
    for (int i = 1; i <= 4; ++i) {
        pool.emplace_back([&sum, i] { sum.fetch_add(i); });
    }
    rpb::WorkerThread moved = std::move(pool.back());
    pool.pop_back();
    CHECK(moved.joinable());
    moved.join();
    for (rpb::WorkerThread& t : pool) {
        t.join();
    }
    CHECK(sum.load() == 10);
}

TEST_CASE("WorkerThread ends up with its creator's CPU set, whatever it started on") {
    const cpu_set_t creator = own_affinity();
    cpu_set_t seen;
    CPU_ZERO(&seen);
    rpb::WorkerThread thread([&] { seen = own_affinity(); });
    thread.join();
    CHECK(CPU_EQUAL(&seen, &creator));
}

TEST_CASE("WorkerThread started from a thread confined to one CPU runs there") {
    // Nowhere else to go: the preference for another CPU must not stop the thread.
    const cpu_set_t creator = own_affinity();
    int cpu = 0;
    while (!CPU_ISSET(cpu, &creator)) {
        ++cpu;
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    REQUIRE(pthread_setaffinity_np(pthread_self(), sizeof(one), &one) == 0);
    cpu_set_t seen;
    CPU_ZERO(&seen);
    int ran_on = -1;
    rpb::WorkerThread thread([&] {
        seen = own_affinity();
        ran_on = sched_getcpu();
    });
    thread.join();
    REQUIRE(pthread_setaffinity_np(pthread_self(), sizeof(creator), &creator) == 0);
    CHECK(CPU_EQUAL(&seen, &one));
    CHECK(ran_on == cpu);
}
