#include "lvsctl/vip_plan.h"

#include <set>

namespace lvsctl {

VipPlan plan_vips(const std::vector<IpAddress>& desired,
                  const std::vector<InterfaceAddress>& present,
                  const std::vector<IpAddress>& owned) {
    std::set<IpAddress> there;
    std::set<IpAddress> host_routes;
    for (const auto& a : present) {
        there.insert(a.address);
        if (a.is_host_route()) {
            host_routes.insert(a.address);
        }
    }
    const std::set<IpAddress> wanted(desired.begin(), desired.end());
    VipPlan plan;
    for (const auto& ip : wanted) {
        if (!there.contains(ip)) {
            plan.add.push_back(ip);
        }
    }
    for (const auto& ip : std::set<IpAddress>(owned.begin(), owned.end())) {
        if (!wanted.contains(ip) && host_routes.contains(ip)) {
            plan.remove.push_back({ip, ip.is_v4() ? 32 : 128});
        }
    }
    return plan;
}

}  // namespace lvsctl
