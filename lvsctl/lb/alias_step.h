// The website IP aliases half of `agent apply` (README.md, "The LB agent"): what to add and
// remove on the cluster's interface and on interfaces it has left, and what the agent owns before
// the adds and after the run.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "lvsctl/vip_plan.h"

namespace lvsctl {

// What an ownership record says about aliases (AgentState's interface, vips and former).
struct OwnedAliases {
    std::string interface;
    std::vector<IpAddress> vips;
    std::map<std::string, std::vector<IpAddress>> former;
};

class AliasStep {
  public:
    // Reads the interface's addresses and plans. A desired IP already there as a /32 or /128 is
    // taken over; aliases owned on another interface are to be removed from there (`former`).
    AliasStep(AddressKernel& kernel, int ifindex, std::string interface,
              const std::vector<IpAddress>& desired, const OwnedAliases& owned);

    const VipPlan& plan() const { return plan_; }
    // The aliases that leave: plan().remove's and those on former interfaces no longer desired
    // (their marks stay until the aliases are gone).
    std::vector<IpAddress> leaving() const;

    // Hands `record` what the agent owns once the adds are done, then adds plan().add. Recording
    // first means a run killed in between still knows the aliases it may have added, and a later
    // run removes them; one recorded but never added costs nothing (removing a missing address
    // is EADDRNOTAVAIL, taken as done).
    void add(const std::function<void(const OwnedAliases&)>& record);
    // Removes plan().remove, then the aliases left on former interfaces.
    void remove();

    OwnedAliases owned() const;  // what the agent owns now

    std::vector<std::string> done;
    std::vector<std::string> errors;
    bool refused = false;  // the kernel said EPERM or EACCES: not privileged enough

  private:
    void failed(const std::string& what, int error);

    AddressKernel& kernel_;
    int ifindex_;
    std::string interface_;
    std::set<IpAddress> desired_;
    std::set<IpAddress> vips_;
    std::map<std::string, std::vector<IpAddress>> former_;
    VipPlan plan_;
};

}  // namespace lvsctl
