// Website IPs as aliases on the LB's interface (IPv4 /32, IPv6 /128 nodad). The agent removes
// only the aliases it placed itself, and never an address with another prefix (the LB's own).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lvsctl/address.h"

namespace lvsctl {

struct VipPlan {
    std::vector<IpAddress> add;
    std::vector<InterfaceAddress> remove;
};

// `present`: the interface's addresses now; `owned`: the aliases the agent placed before.
// A desired IP already there as a /32 or /128 is taken over (the piranha or old-script LB had
// put it there), so that removing it later from the database removes it here too.
VipPlan plan_vips(const std::vector<IpAddress>& desired,
                  const std::vector<InterfaceAddress>& present,
                  const std::vector<IpAddress>& owned);

// The same, from what sorted_unique() returns: `there` holds every address present,
// `host_routes` those of them that are /32 or /128.
VipPlan plan_vips_sorted(const std::vector<IpAddress>& wanted, const std::vector<IpAddress>& there,
                         const std::vector<IpAddress>& host_routes,
                         const std::vector<IpAddress>& owned);

// Every address in `present` and its host routes, each sorted_unique().
struct PresentAddresses {
    std::vector<IpAddress> there, host_routes;
};
PresentAddresses sorted_present(const std::vector<InterfaceAddress>& present);

class AddressKernel {
  public:
    virtual ~AddressKernel() = default;
    virtual std::optional<int> interface_index(const std::string& name) = 0;
    virtual std::vector<InterfaceAddress> addresses(int ifindex) = 0;
    // One errno per address (0 = done), in order.
    virtual std::vector<int> add(int ifindex, const std::vector<IpAddress>& addresses) = 0;
    virtual std::vector<int> remove(int ifindex,
                                    const std::vector<InterfaceAddress>& addresses) = 0;
};

}  // namespace lvsctl
