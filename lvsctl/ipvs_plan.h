// What to change in the kernel's IPVS table: a pure diff of desired vs. observed (as Katran's
// batchRealsUpdate: the same state twice gives no change), and the loop that applies it.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lvsctl/desired_state.h"
#include "lvsctl/ipvs_types.h"

namespace lvsctl {

struct DesiredDest {
    DestKey key;
    DestSettings settings;
};

struct DesiredService {
    ServiceKey key;
    ServiceSettings settings;
    std::vector<DesiredDest> dests;
};

// The IPVS part of an LB's desired state.
std::vector<DesiredService> ipvs_services(const LbDesiredState& state);

struct IpvsPlan {
    std::vector<IpvsChange> changes;
    // Destinations at weight 0 that still carry active connections, waiting to be deleted.
    std::vector<std::string> draining;
    bool converged() const { return changes.empty() && draining.empty(); }
};

// `observed` holds the kernel's state (with destinations) of the services in `desired` and
// `retired` that exist; nothing else is looked at or touched. A retired service (owned before,
// not desired now) is drained and deleted. A destination the kernel has and `desired` lacks is
// set to weight 0, then deleted once it has no active connections or `drain_expired`.
IpvsPlan plan_ipvs(const std::vector<DesiredService>& desired,
                   const std::vector<ServiceKey>& retired,
                   const std::map<ServiceKey, ServiceInfo>& observed, bool drain_expired);

// The kernel as the reconciler needs it. ipvs::NetlinkKernel is the real one; tests have fakes
// that answer as the kernel does (EEXIST, ESRCH, ENOENT).
class IpvsKernel {
  public:
    virtual ~IpvsKernel() = default;
    virtual std::vector<ServiceInfo> services() = 0;  // without destinations
    // std::nullopt when the service does not exist (any more).
    virtual std::optional<std::vector<DestInfo>> destinations(const ServiceKey& service) = 0;
    // Sends the changes in order; returns one errno per change (0 = done). A refused change does
    // not throw; losing the kernel does (Error with ExitCode::kernel).
    virtual std::vector<int> apply(const std::vector<IpvsChange>& changes) = 0;
};

class Clock {
  public:
    virtual ~Clock() = default;
    virtual std::chrono::steady_clock::time_point now() = 0;
    virtual void sleep(std::chrono::milliseconds duration) = 0;
};

struct IpvsReport {
    std::vector<std::string> done;    // each change made, described
    std::vector<std::string> errors;  // each change refused, "what: why"
    std::size_t changes_sent = 0;     // changing netlink messages
    bool changed() const { return !done.empty(); }
};

class IpvsReconciler {
  public:
    IpvsReconciler(IpvsKernel& kernel, Clock& clock) : kernel_(kernel), clock_(clock) {}

    // Plans and applies until the owned services match `desired`. Changes refused because
    // someone else changed the table meanwhile (EEXIST, ESRCH, ENOENT on a destination) are
    // resynced from a fresh dump; anything else is reported in `errors`. Destinations being
    // drained are polled every `poll` until they are idle or `drain_timeout` has passed.
    IpvsReport reconcile(const std::vector<DesiredService>& desired,
                         const std::vector<ServiceKey>& retired, std::chrono::seconds drain_timeout,
                         std::chrono::milliseconds poll = std::chrono::milliseconds(500));

    std::map<ServiceKey, ServiceInfo> observe(const std::vector<ServiceKey>& keys);

  private:
    IpvsKernel& kernel_;
    Clock& clock_;
};

}  // namespace lvsctl
