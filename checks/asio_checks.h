// The real CheckRunner (lvsctl/lb/check_runner.h): nanny's TCP checks on one Asio event loop over
// non-blocking sockets, run on the calling thread. The only code that includes Asio; this header
// does not, so its users compile none of it.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include "lvsctl/lb/check_runner.h"

namespace lvsctl::checks {

// One check, as nanny does it: a non-blocking connect to target.address:target.port (IPv4 or
// IPv6); checks.send written; then, unless checks.expect takes any reply ("" or "*": then the
// connect, and the send, are enough), up to 255 bytes read until the peer closes, 255 are in, or
// the bytes so far decide (a plain expect: as soon as the reply is as long as it, or differs
// from it; a regex: as soon as it matches, unless it has a `$` or a word boundary that more
// bytes could undo), and judged by ReplyMatcher. Connect, send and read within checks.timeout
// seconds of the check's start; a reply cut short by the timeout is judged as it is.
//
// The starts are spread in 32 steps over `spread` (target i at the first step at or after
// i x spread / n; steps of at least 1 ms): a few checks per wake-up of the loop rather than one.
// A check that ends makes room for the next one due at once. checks.program is not run here: the
// caller runs it instead of a round of these checks.
//
// The sockets and buffers of `concurrency` checks are kept from one round to the next, with one
// io_context and one timer (the next step, or the oldest check's deadline: one timeout for all,
// so deadlines come in the order of the starts): a round allocates its results and little else.
// Not thread-safe: one round at a time, on the calling thread.
class AsioCheckRunner : public CheckRunner {
  public:
    AsioCheckRunner();
    AsioCheckRunner(const AsioCheckRunner&) = delete;
    AsioCheckRunner& operator=(const AsioCheckRunner&) = delete;
    ~AsioCheckRunner() override;

    // Throws only for what is not a server's failure: a regex that does not compile
    // (Error(ExitCode::data), as ReplyMatcher), or memory. A concurrency of 0 counts as 1.
    std::vector<CheckResult> run(const std::vector<CheckTarget>& targets,
                                 const MonitorChecks& checks, std::chrono::milliseconds spread,
                                 std::size_t concurrency,
                                 const FailureSink& on_failures = {}) override;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lvsctl::checks
