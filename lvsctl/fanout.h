// Running one function per host on at most `parallel` threads at once (SPEC.md --parallel).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace lvsctl {

// Calls fn(i) for every i in [0, count), each exactly once, on up to `parallel` threads, and
// returns when all have returned. `fn` must not throw: a host's failure is its own result, never
// the others' (catch inside and record it).
template <typename Fn>
void fan_out(std::size_t count, std::size_t parallel, Fn&& fn) {
    const auto workers = std::min(count, std::max<std::size_t>(parallel, 1));
    if (workers <= 1) {
        for (std::size_t i = 0; i < count; ++i) {
            fn(i);
        }
        return;
    }
    std::atomic<std::size_t> next{0};
    std::vector<std::jthread> threads;
    threads.reserve(workers);
    for (std::size_t w = 0; w < workers; ++w) {
        threads.emplace_back([&] {
            for (auto i = next.fetch_add(1); i < count; i = next.fetch_add(1)) {
                fn(i);
            }
        });
    }
}

}  // namespace lvsctl
