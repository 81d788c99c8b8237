// Running one function per host on at most `parallel` threads at once (README: --parallel).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace lvsctl {

// Calls fn(i) for every i in [0, count), each exactly once, on up to `parallel` threads, and
// returns when all have returned. A host's failure is its own result, never the others': `fn`
// catches it (capture_host_error, error.h). Should `fn` throw anyway, every other call still
// runs, and the first exception is rethrown here afterwards, never std::terminate in a thread.
template <typename Fn>
void fan_out(std::size_t count, std::size_t parallel, Fn&& fn) {
    std::exception_ptr first;
    std::mutex mutex;
    auto call = [&](std::size_t i) {
        try {
            fn(i);
        } catch (...) {
            const std::lock_guard lock(mutex);
            if (!first) {
                first = std::current_exception();
            }
        }
    };
    const auto workers = std::min(count, std::max<std::size_t>(parallel, 1));
    if (workers <= 1) {
        for (std::size_t i = 0; i < count; ++i) {
            call(i);
        }
    } else {
        std::atomic<std::size_t> next{0};
        std::vector<std::jthread> threads;
        threads.reserve(workers);
        for (std::size_t w = 0; w < workers; ++w) {
            threads.emplace_back([&] {
                for (auto i = next.fetch_add(1); i < count; i = next.fetch_add(1)) {
                    call(i);
                }
            });
        }
    }
    if (first) {
        std::rethrow_exception(first);
    }
}

}  // namespace lvsctl
