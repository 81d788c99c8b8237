// The LB monitor's core (docs/monitor.md): the health of each real server of one cluster's
// desired state, and the kernel changes that follow from it. The checks and the load command are
// run elsewhere (the event loop feeds their results in); the kernel is a seam, so the whole of
// it is tested with a fake kernel and a numeric clock.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lvsctl/lb/health.h"
#include "lvsctl/lb/health_record.h"
#include "lvsctl/lb/ipvs_plan.h"
#include "lvsctl/protocol/desired_state.h"

namespace lvsctl {

// One real server to check: its address (one per family), the port, and the management address
// its load command is given.
struct CheckTarget {
    IpAddress address;
    std::uint16_t port = 0;
    IpAddress mgmt_address;
    std::string where() const;  // "10.39.84.43:80", "[2001:db8::43]:80"
};

class Monitor {
  public:
    explicit Monitor(IpvsKernel& kernel) : kernel_(kernel) {}

    // A new desired state (at start, and whenever the agent leaves a new one). A server it still
    // names keeps its health and takes the new configured weight; a new one starts unchecked,
    // but in service at the weight the kernel already gives it (a restarted monitor does not
    // flap); a server it no longer names is forgotten. Needs `desired.checks`.
    void load(const LbDesiredState& desired);

    const MonitorChecks& checks() const { return checks_; }
    HealthSettings settings() const;
    std::vector<CheckTarget> targets() const;
    const ServerHealth* health(const IpAddress& server) const;

    // A check's result (`why`: what failed; `latency`: how long it took). Unknown servers are
    // ignored: a check started before a reload may end after it.
    void checked(const IpAddress& server, bool ok, MonitorTime now, std::string why = {},
                 std::chrono::milliseconds latency = {});
    // Slow start and the load rule; `loads` has a load for the servers whose command answered.
    void step(MonitorTime now, const std::map<IpAddress, double>& loads);

    // The kernel changes for every server whose weight changed since the last flush, sent in one
    // batch; returns the log lines (nanny's words for a server leaving or coming back, and each
    // change the kernel refused).
    std::vector<std::string> flush();

    // What the agent and `status` read (health_record.h), as of `now` (`unix_now` the same
    // instant in Unix seconds).
    HealthRecord record(MonitorTime now, std::int64_t unix_now) const;

    // For the metrics (metrics.h): the desired services, and each as the kernel has it now
    // (std::nullopt: not in the kernel); and how many changes the kernel refused so far.
    const std::vector<Service>& services() const { return desired_.services; }
    std::vector<std::optional<ServiceInfo>> kernel_table();
    std::uint64_t kernel_errors() const { return kernel_errors_; }

  private:
    struct Server {
        Server(CheckTarget t, ServerHealth h) : target(std::move(t)), health(h) {}
        CheckTarget target;
        ServerHealth health;
        bool dirty = false;
        std::optional<MonitorTime> last_check;
        bool last_ok = false;
        std::string why;
        std::chrono::milliseconds latency{0};
        std::uint64_t transitions = 0;
    };
    void note(Server& server, Transition transition, std::string line);

    IpvsKernel& kernel_;
    LbDesiredState desired_;
    MonitorChecks checks_;
    std::map<IpAddress, Server> servers_;
    std::vector<std::string> pending_log_;
    std::uint64_t kernel_errors_ = 0;
};

}  // namespace lvsctl
