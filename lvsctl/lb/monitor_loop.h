// `lvsctl monitor`'s loop (docs/monitor.md), over injected seams: the desired state the agent
// left, a round of checks every interval, the load commands every step, and each round's verdicts
// written and applied under the LB's lock. cmd_monitor.cpp builds the real seams.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "lvsctl/lb/agent.h"
#include "lvsctl/lb/check_runner.h"
#include "lvsctl/lb/metrics.h"
#include "lvsctl/lb/monitor.h"
#include "lvsctl/process.h"

namespace lvsctl {

// What the loop does to the world besides checks and the kernel.
class MonitorEnvironment {
  public:
    virtual ~MonitorEnvironment() = default;
    virtual MonitorTime now() = 0;
    virtual std::int64_t unix_now() = 0;
    // Sleeps until `until`, or less when asked to stop or reload.
    virtual void sleep_until(MonitorTime until) = 0;
    virtual bool stopping() = 0;          // SIGTERM, SIGINT
    virtual bool reload_requested() = 0;  // SIGHUP; clears the request
    virtual void log(const std::string& line) = 0;
    // Runs `fn` holding the LB's lock (agent.lock), which `agent apply` holds while it runs.
    virtual void locked(const std::function<void()>& fn) = 0;
    // Runs `fn` only if the lock is free now; false when it is held (nothing ran).
    virtual bool try_locked(const std::function<void()>& fn) = 0;
};

struct MonitorLoopSettings {
    std::int64_t cluster_id = 0;
    std::size_t concurrency = 256;       // checks in flight at once
    std::size_t programs_parallel = 16;  // check programs and load commands at once
    std::chrono::seconds step{20};       // slow start and load rule (nanny's 20 s)
    std::optional<std::size_t> rounds;   // stop after this many rounds (tests); none: until told
};

// The cluster `lvsctl monitor` checks when not told: the one the agent left a desired state for
// in `records`. Throws Error(ExitCode::data) when there is none, and Error(ExitCode::usage)
// naming them when there are several (then one monitor per cluster: lvsctl-monitor@N).
std::int64_t monitored_cluster(RecordStore& records);

// The order of a round's checks: the servers that are down first (a silent one waits out its
// timeout from the round's start, not from after everyone else's checks, so the round is not
// made longer by it), then by server, its IPv4 and IPv6 addresses side by side.
std::vector<CheckTarget> check_order(const Monitor& monitor);

// Over how long a round's check starts are spread (jitter): half the interval, but never so long
// that a check still running at its timeout is late for the next round, so that every server is
// checked once per interval while any check waits out its timeout: interval - timeout, at most
// interval / 2, 0 when the timeout is as long as the interval (then the concurrency limit alone
// paces the starts).
std::chrono::milliseconds round_spread(const MonitorChecks& checks);

class MonitorLoop {
  public:
    // `programs` runs check programs and load commands, each under its own deadline. With
    // `metrics`, each round ends by handing it the metrics (metrics.h).
    MonitorLoop(Monitor& monitor, CheckRunner& checks, ProcessRunner& programs,
                RecordStore& records, MonitorEnvironment& env, MetricsSink* metrics = nullptr)
        : monitor_(monitor),
          checks_(checks),
          programs_(programs),
          records_(records),
          env_(env),
          metrics_(metrics) {}

    // Until stopping() (or settings.rounds). Throws Error(ExitCode::data) when there is no
    // usable desired state to start from (no `agent apply` has run for the cluster, or it has
    // no checks); a desired state that goes bad later is logged and the last good one kept.
    void run(const MonitorLoopSettings& settings);

    // One round, at env.now(): reload the desired state if the agent left a new one, check every
    // server, run the load commands when a step is due, then write the health record and apply
    // the verdicts under the lock. A check that takes a server out is applied at once, while the
    // round's other checks go on, unless `agent apply` holds the lock just then (the checks in
    // flight are not held up waiting for it: the round's end applies it).
    void round(const MonitorLoopSettings& settings);

  private:
    bool reload(const MonitorLoopSettings& settings, bool first);
    std::vector<CheckResult> run_programs(const std::vector<CheckTarget>& targets,
                                          const MonitorLoopSettings& settings);
    std::map<IpAddress, double> loads(const MonitorLoopSettings& settings);
    void publish(const HealthRecord& record, MonitorTime start);
    // Writes the health record and sends the kernel the changed weights, under the lock (with
    // `wait` false: only if it is free now; std::nullopt when it was not).
    std::optional<HealthRecord> apply(const MonitorLoopSettings& settings, MonitorTime now,
                                      bool wait);

    Monitor& monitor_;
    CheckRunner& checks_;
    ProcessRunner& programs_;
    RecordStore& records_;
    MonitorEnvironment& env_;
    MetricsSink* metrics_;
    std::optional<std::string> loaded_;  // the desired state's text, as last loaded
    std::optional<MonitorTime> last_step_;
    std::set<IpAddress> load_failing_;  // whose load command failed last time (logged once)
    std::uint64_t rounds_ = 0;
    std::optional<MonitorTime> due_;  // when the current round was due (run())
    MonitorClock::duration lag_{};    // how late it started
};

}  // namespace lvsctl
