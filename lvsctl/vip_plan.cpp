#include "lvsctl/vip_plan.h"

#include <algorithm>

#include <set>

namespace lvsctl {

namespace {
// Sorted vectors, not node-based sets: a web server with 10,000 website IPs is planned on every
// run, on every host at once (bench/propagation).
std::vector<IpAddress> sorted_unique(std::vector<IpAddress> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
}
bool has(const std::vector<IpAddress>& sorted, const IpAddress& ip) {
    return std::binary_search(sorted.begin(), sorted.end(), ip);
}
}  // namespace

VipPlan plan_vips(const std::vector<IpAddress>& desired,
                  const std::vector<InterfaceAddress>& present,
                  const std::vector<IpAddress>& owned) {
    std::vector<IpAddress> there;
    std::vector<IpAddress> host_routes;
    there.reserve(present.size());
    for (const auto& a : present) {
        there.push_back(a.address);
        if (a.is_host_route()) {
            host_routes.push_back(a.address);
        }
    }
    there = sorted_unique(std::move(there));
    host_routes = sorted_unique(std::move(host_routes));
    const auto wanted = sorted_unique(desired);
    VipPlan plan;
    for (const auto& ip : wanted) {
        if (!has(there, ip)) {
            plan.add.push_back(ip);
        }
    }
    for (const auto& ip : sorted_unique(owned)) {
        if (!has(wanted, ip) && has(host_routes, ip)) {
            plan.remove.push_back({ip, ip.is_v4() ? 32 : 128});
        }
    }
    return plan;
}

}  // namespace lvsctl
