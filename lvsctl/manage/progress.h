// What a run tells a person watching it (docs/commands.md, "Progress"): a phase over a number of
// hosts, then each host as it is done. Called from the fan-out's threads: an implementation
// locks. The terminal's progress line is the CLI's (lvsctl/cli/progress.h); runs without one
// pass nullptr.
#pragma once

#include <cstddef>
#include <string_view>

#include "lvsctl/fanout.h"

namespace lvsctl {

class Progress {
  public:
    virtual ~Progress() = default;
    virtual void begin(std::string_view phase, std::size_t total) = 0;
    virtual void done(bool failed) = 0;
    virtual void end() = 0;  // the run's last word: clear what was shown
};

// fan_out, told to `progress` when there is one: `fn(i)` returns whether host i failed.
template <typename Fn>
void fan_out_with_progress(Progress* progress, std::string_view phase, std::size_t count,
                           std::size_t parallel, Fn&& fn) {
    if (progress != nullptr && count > 0) {
        progress->begin(phase, count);
    }
    fan_out(count, parallel, [&](std::size_t i) {
        const bool failed = fn(i);
        if (progress != nullptr) {
            progress->done(failed);
        }
    });
}

}  // namespace lvsctl
