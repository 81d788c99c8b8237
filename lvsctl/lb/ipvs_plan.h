// What to change in the kernel's IPVS table: a pure diff of desired vs. observed (as Katran's
// batchRealsUpdate: the same state twice gives no change), and the loop that applies it.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lvsctl/ipvs_types.h"
#include "lvsctl/protocol/desired_state.h"

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

// A fingerprint of everything the reconciler would program for a service (its settings and its
// destinations, in any order): equal digests, equal rules. 16 hex digits.
std::string service_digest(const DesiredService& service);

// The services a reconcile left exactly as desired, with their digests. Given back to the next
// reconcile, they let it skip dumping the destinations of services that did not change.
using ServiceDigests = std::map<ServiceKey, std::string>;

struct IpvsPlan {
    std::vector<IpvsChange> changes;
    // Destinations at weight 0 that still carry active connections, waiting to be deleted.
    std::vector<std::string> draining;
    bool converged() const { return changes.empty() && draining.empty(); }
};

// `observed` holds the kernel's state (with destinations) of the services in `desired` and
// `retired` that exist; nothing else is looked at or touched. A retired service (owned before,
// not desired now) is drained and deleted. A destination the kernel has and `desired` lacks is
// set to weight 0, then deleted once it has no active connections or `drain_expired`. Desired
// services in `converged` are known to be exactly as desired (trusted by digest) and get no
// change.
IpvsPlan plan_ipvs(const std::vector<DesiredService>& desired,
                   const std::vector<ServiceKey>& retired,
                   const std::map<ServiceKey, ServiceInfo>& observed, bool drain_expired,
                   const std::set<ServiceKey>& converged = {});

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

// Changes a reconcile names one by one; past them, IpvsReport::done ends with one line that
// counts the rest by kind ("... and 104800 more changes: 104800 add destination").
constexpr std::size_t kDescribed = 200;

struct IpvsReport {
    // The changes made, described: the first kDescribed, then one line counting the rest.
    std::vector<std::string> done;
    std::size_t made = 0;             // changes made
    std::vector<std::string> errors;  // each change refused, "what: why"
    bool refused = false;             // one was refused for want of privilege (EPERM, EACCES)
    std::size_t changes_sent = 0;     // changing netlink messages
    std::size_t trusted = 0;          // desired services whose destinations were not dumped
    // Services created: a desired one the kernel lacked (new, or lost to a reboot or a flush).
    std::size_t services_added = 0;
    // When there are no errors: every desired service and its digest, as now in the kernel.
    ServiceDigests converged;
    bool changed() const { return !done.empty(); }
};

class IpvsReconciler {
  public:
    IpvsReconciler(IpvsKernel& kernel, Clock& clock) : kernel_(kernel), clock_(clock) {}

    // Plans and applies until the owned services match `desired`. Changes refused because
    // someone else changed the table meanwhile (EEXIST, ESRCH, ENOENT on a destination) are
    // resynced from a fresh dump; anything else is reported in `errors`. Destinations being
    // drained are polled every `poll` until they are idle or `drain_timeout` has passed.
    //
    // With `trusted` (a previous report's `converged`), a desired service whose digest is the one
    // recorded there and whose settings in the kernel's service list still match is taken to have
    // its destinations as desired: one service-list dump instead of one dump per service. Someone
    // editing that service's destinations by hand is then not seen; a reconcile without `trusted`
    // (the agent's --full, and periodically) repairs it.
    IpvsReport reconcile(const std::vector<DesiredService>& desired,
                         const std::vector<ServiceKey>& retired, std::chrono::seconds drain_timeout,
                         std::chrono::milliseconds poll = std::chrono::milliseconds(500),
                         const ServiceDigests* trusted = nullptr);

    // The kernel's state of the services `keys` that exist, with their destinations; those in
    // `assumed` whose settings match are taken to be as desired: not dumped, not in the result,
    // but in `confirmed`. With `desired` (and `confirmed`), a service found exactly as desired
    // once dumped goes to `confirmed` too instead of the result: a no-op holds one service's
    // destinations at a time, not the whole table.
    std::map<ServiceKey, ServiceInfo> observe(
        const std::vector<ServiceKey>& keys,
        const std::map<ServiceKey, const DesiredService*>& assumed = {},
        std::set<ServiceKey>* confirmed = nullptr,
        const std::vector<DesiredService>* desired = nullptr);

  private:
    IpvsKernel& kernel_;
    Clock& clock_;
};

}  // namespace lvsctl
