#include "lvsctl/manage/status.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
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

std::vector<RealServerStatus> real_servers(const LbDesiredState& desired,
                                           const std::vector<ServiceInfo>& table,
                                           const std::optional<MonitorShown>& monitor) {
    std::map<IpAddress, std::uint32_t> in_kernel;
    std::vector<IpAddress> kernel_order;
    for (const auto& svc : desired.services) {
        const auto key = ServiceKey::fwmark_service(svc.family, svc.fwmark);
        for (const auto& info : table) {
            if (info.key != key) {
                continue;
            }
            for (const auto& d : info.dests) {
                if (in_kernel.emplace(d.key.address, d.settings.weight).second) {
                    kernel_order.push_back(d.key.address);
                }
            }
        }
    }
    const bool current = monitor && monitor->current;
    std::vector<RealServerStatus> out;
    std::set<IpAddress> named;
    for (const auto& svc : desired.services) {
        for (const auto& d : svc.destinations) {
            if (!named.insert(d.address).second) {
                continue;
            }
            RealServerStatus r{d.address,    "unmonitored", d.weight,
                               std::nullopt, std::nullopt,  std::nullopt};
            if (const auto it = in_kernel.find(d.address); it != in_kernel.end()) {
                r.weight = it->second;
            }
            if (current) {
                const auto& record = monitor->record;
                if (const auto it = record.servers.find(d.address); it != record.servers.end()) {
                    r.state = to_string(it->second.state);
                    r.health = it->second;
                    if (it->second.last_check != 0) {
                        r.checked_ago = record.updated - it->second.last_check + monitor->age;
                    }
                } else {
                    r.state = to_string(Health::unchecked);  // new since the monitor's last round
                }
            }
            out.push_back(std::move(r));
        }
    }
    for (const auto& address : kernel_order) {
        if (!named.contains(address)) {
            out.push_back({address, "draining", std::nullopt, in_kernel.at(address), std::nullopt,
                           std::nullopt});
        }
    }
    return out;
}

std::string monitor_summary(const std::optional<MonitorShown>& monitor) {
    if (!monitor) {
        return "NOT running: no health record on the LB (start lvsctl monitor there, "
               "docs/monitor.md)";
    }
    if (!monitor->current) {
        return fmt::format("NOT running: its last round was {} s ago", monitor->age);
    }
    std::map<Health, std::vector<std::string>> by_state;
    for (const auto& [address, r] : monitor->record.servers) {
        by_state[r.state].push_back(address.str());
    }
    std::string counts;
    for (const auto state : {Health::up, Health::down, Health::reentering, Health::unchecked}) {
        const auto it = by_state.find(state);
        if (it == by_state.end()) {
            continue;
        }
        counts += fmt::format(", {} {}", it->second.size(), to_string(state));
        if (state != Health::up) {
            counts += fmt::format(" ({})", fmt::join(it->second, " "));
        }
    }
    return fmt::format("running, last round {} s ago: {} real servers{}", monitor->age,
                       monitor->record.servers.size(), counts);
}

std::string ha_summary(const HaShown& ha) {
    std::string vrrp;
    if (!ha.keepalived_running) {
        vrrp = ha.vrrp ? fmt::format("keepalived NOT running (last state {}, {} s ago)",
                                     ha.vrrp->state, ha.vrrp->age)
                       : "keepalived NOT running";
    } else if (ha.vrrp) {
        vrrp = fmt::format("{} for {} s (priority {})", ha.vrrp->state, ha.vrrp->age,
                           ha.vrrp->priority);
    } else {
        vrrp = "keepalived running, no state recorded yet";
    }
    std::vector<std::string> daemons;
    for (const auto& d : ha.sync_daemons) {
        daemons.push_back(fmt::format("{} on {} (id {})", d.state, d.interface, d.sync_id));
    }
    return fmt::format(
        "{}; sync daemon: {}", vrrp,
        daemons.empty() ? std::string("none") : fmt::format("{}", fmt::join(daemons, ", ")));
}

std::vector<HostStatus> gather_status(const Cluster& cluster, UpdateEnvironment& env,
                                      std::size_t parallel, Progress* progress) {
    const auto nlb = cluster.load_balancers.size();
    const auto kind = parse_backend(cluster.backend)->kind;  // validated
    std::vector<HostStatus> hosts(nlb + cluster.servers.size());
    fan_out_with_progress(progress, "reading hosts", hosts.size(), parallel, [&](std::size_t i) {
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
                const auto desired = desired_state(cluster, lb, 30);
                h.drift = backend->plan(desired);
                h.table = backend->table();
                h.monitored = backend->has_monitor();
                h.monitor = backend->monitor();
                h.ha = backend->ha();
                if (h.table) {
                    h.real_servers =
                        real_servers(desired, *h.table, h.monitored ? h.monitor : std::nullopt);
                }
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
        return h.error.has_value();
    });
    if (progress != nullptr) {
        progress->end();
    }
    return hosts;
}

}  // namespace lvsctl
