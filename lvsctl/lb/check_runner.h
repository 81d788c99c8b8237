// The seam between the monitor and its checks (docs/monitor.md): a round of nanny's checks, one
// per target, run concurrently. The real one (checks/) is an event loop over non-blocking
// sockets; tests use fakes.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "lvsctl/lb/monitor.h"

namespace lvsctl {

struct CheckResult {
    IpAddress address;
    bool ok = false;
    std::string why;  // when not ok: "connect: Connection refused", "no reply within 10 s", ...
    std::chrono::milliseconds latency{0};  // from the start of the check to its verdict
};

// Checks that failed, handed over as soon as they are known.
using FailureSink = std::function<void(const std::vector<CheckResult>&)>;

class CheckRunner {
  public:
    virtual ~CheckRunner() = default;
    // Checks every target once and returns one result per target, in the targets' order: connect
    // to target.address:target.port, send checks.send, read up to 255 bytes (until the peer
    // closes, 255 bytes, or the reply decides), judge it with checks.expect / checks.use_regex
    // (ReplyMatcher); the whole check within checks.timeout. At most `concurrency` checks are in
    // flight at once; their starts are spread evenly over `spread` (jitter: a thousand servers
    // are not all hit in the same millisecond). Never throws for a server's failure: that is its
    // result. With `on_failures`, failed checks are also handed to it, on the calling thread, as
    // soon as they are known (a few at once when they end together), while the others go on: a
    // dead server need not wait for the round's slowest check to leave the kernel. What it
    // throws ends the round and leaves run() the same way.
    virtual std::vector<CheckResult> run(const std::vector<CheckTarget>& targets,
                                         const MonitorChecks& checks,
                                         std::chrono::milliseconds spread, std::size_t concurrency,
                                         const FailureSink& on_failures = {}) = 0;
};

}  // namespace lvsctl
