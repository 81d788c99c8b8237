#include "lvsctl/desired_state.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace lvsctl {

LbDesiredState desired_state(const Cluster& cluster, const LoadBalancer& lb,
                             std::uint32_t drain_timeout) {
    LbDesiredState s;
    s.cluster_id = cluster.id;
    s.cluster_name = cluster.name;
    s.serial = cluster.serial;
    s.interface = lb.vip_interface;
    s.website_ips = cluster.website_ips;
    std::sort(s.website_ips.begin(), s.website_ips.end());
    s.fwmark = static_cast<std::uint32_t>(cluster.fwmark);
    s.protocol = cluster.protocol;
    for (auto port : cluster.ports) {
        s.ports.push_back(static_cast<std::uint16_t>(port));
    }
    s.drain_timeout = drain_timeout;

    auto service = [&](Family family) {
        Service svc{family,
                    s.fwmark,
                    cluster.scheduler,
                    static_cast<std::uint32_t>(cluster.persistence),
                    {}};
        for (const auto& server : cluster.servers) {
            const auto* addr = family == Family::inet ? &server.address
                               : server.address_v6    ? &*server.address_v6
                                                      : nullptr;
            if (addr == nullptr) {
                continue;
            }
            const auto weight = server.active ? static_cast<std::uint32_t>(server.weight) : 0U;
            svc.destinations.push_back({*addr, 0, cluster.forwarding, weight});
        }
        std::sort(svc.destinations.begin(), svc.destinations.end(),
                  [](const auto& a, const auto& b) { return a.address < b.address; });
        return svc;
    };
    s.services.push_back(service(Family::inet));
    if (cluster.has_v6_website_ips()) {
        s.services.push_back(service(Family::inet6));
    }
    return s;
}

std::string to_json(const LbDesiredState& state) {
    using nlohmann::ordered_json;
    ordered_json ips = ordered_json::array();
    for (const auto& ip : state.website_ips) {
        ips.push_back(ip.str());
    }
    ordered_json services = ordered_json::array();
    for (const auto& svc : state.services) {
        ordered_json dests = ordered_json::array();
        for (const auto& d : svc.destinations) {
            dests.push_back({{"address", d.address.str()},
                             {"port", d.port},
                             {"forwarding", to_string(d.forwarding)},
                             {"weight", d.weight}});
        }
        services.push_back({{"family", to_string(svc.family)},
                            {"fwmark", svc.fwmark},
                            {"scheduler", svc.scheduler},
                            {"persistence", svc.persistence},
                            {"destinations", std::move(dests)}});
    }
    const ordered_json doc = {
        {"version", state.version},
        {"cluster",
         {{"id", state.cluster_id}, {"name", state.cluster_name}, {"serial", state.serial}}},
        {"interface", state.interface},
        {"website_ips", std::move(ips)},
        {"marks", {{"fwmark", state.fwmark}, {"protocol", state.protocol}, {"ports", state.ports}}},
        {"services", std::move(services)},
        {"drain_timeout", state.drain_timeout},
    };
    return doc.dump(2) + "\n";
}

}  // namespace lvsctl
