#include "lvsctl/manage/status.h"

#include <fmt/format.h>

#include <set>

#include "lvsctl/error.h"
#include "lvsctl/fanout.h"
#include "lvsctl/manage/backends.h"
#include "lvsctl/manage/web_step.h"

namespace lvsctl {

namespace {
void split(const std::vector<IpAddress>& wanted, const std::set<IpAddress>& there,
           HostStatus& status) {
    for (const auto& ip : wanted) {
        (there.contains(ip) ? status.present : status.missing).push_back(ip);
    }
}
}  // namespace

std::vector<HostStatus> gather_status(const Cluster& cluster, UpdateEnvironment& env,
                                      std::size_t parallel) {
    const auto nlb = cluster.load_balancers.size();
    const auto kind = parse_backend(cluster.backend)->kind;  // validated
    std::vector<HostStatus> hosts(nlb + cluster.servers.size());
    fan_out(hosts.size(), parallel, [&](std::size_t i) {
        auto& h = hosts[i];
        h.host = i < nlb ? lb_name(cluster.load_balancers[i]) : web_name(cluster.servers[i - nlb]);
        auto e = capture_host_error(h.host, [&] {
            if (i < nlb) {
                const auto& lb = cluster.load_balancers[i];
                h.interface = lb.vip_interface;
                if (!shows_table(kind)) {
                    h.error = fmt::format("{}: backend {}: its IPVS table is not lvsctl's to read",
                                          h.host, cluster.backend);
                    return;
                }
                auto t = env.connector().connect(lb.mgmt_address,
                                                 static_cast<std::uint16_t>(lb.ssh_port));
                auto backend = env.backend(cluster, lb, t.get(), h.host);
                h.drift = backend->plan(desired_state(cluster, lb, 30));
                h.table = backend->table();
                const auto placed = backend->website_ips().value_or(std::vector<IpAddress>{});
                split(cluster.website_ips, {placed.begin(), placed.end()}, h);
                return;
            }
            const auto& server = cluster.servers[i - nlb];
            h.interface = "lo";
            auto t = env.connector().connect(server.mgmt_address,
                                             static_cast<std::uint16_t>(server.ssh_port));
            WebServerStep step(*t, h.host, cluster.id, cluster.website_ips);
            const auto& plan = step.observe();
            const std::set<IpAddress> missing(plan.add.begin(), plan.add.end());
            std::set<IpAddress> there;
            for (const auto& ip : cluster.website_ips) {
                if (!missing.contains(ip)) {
                    there.insert(ip);
                }
            }
            split(cluster.website_ips, there, h);
            describe(plan, h.drift);
        });
        if (e) {
            h.error = std::move(e->message);
        }
    });
    return hosts;
}

}  // namespace lvsctl
