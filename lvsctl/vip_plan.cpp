#include "lvsctl/vip_plan.h"

#include <algorithm>
#include <iterator>

namespace lvsctl {

// Sorted vectors and merges, not node-based sets: a web server with 10,000 website IPs is
// planned on every run, on every host at once (bench/propagation).

PresentAddresses sorted_present(const std::vector<InterfaceAddress>& present) {
    PresentAddresses out;
    out.there.reserve(present.size());
    for (const auto& a : present) {
        out.there.push_back(a.address);
        if (a.is_host_route()) {
            out.host_routes.push_back(a.address);
        }
    }
    out.there = sorted_unique(std::move(out.there));
    out.host_routes = sorted_unique(std::move(out.host_routes));
    return out;
}

VipPlan plan_vips_sorted(const std::vector<IpAddress>& wanted, const std::vector<IpAddress>& there,
                         const std::vector<IpAddress>& host_routes,
                         const std::vector<IpAddress>& owned) {
    VipPlan plan;
    std::set_difference(wanted.begin(), wanted.end(), there.begin(), there.end(),
                        std::back_inserter(plan.add));
    // Owned, no longer wanted, and still there as a host route.
    std::vector<IpAddress> unwanted;
    std::set_difference(owned.begin(), owned.end(), wanted.begin(), wanted.end(),
                        std::back_inserter(unwanted));
    std::vector<IpAddress> remove;
    std::set_intersection(unwanted.begin(), unwanted.end(), host_routes.begin(), host_routes.end(),
                          std::back_inserter(remove));
    plan.remove.reserve(remove.size());
    for (const auto& ip : remove) {
        plan.remove.push_back({ip, ip.host_prefix()});
    }
    return plan;
}

VipPlan plan_vips(const std::vector<IpAddress>& desired,
                  const std::vector<InterfaceAddress>& present,
                  const std::vector<IpAddress>& owned) {
    const auto seen = sorted_present(present);
    return plan_vips_sorted(sorted_unique(desired), seen.there, seen.host_routes,
                            sorted_unique(owned));
}

}  // namespace lvsctl
