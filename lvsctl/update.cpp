#include "lvsctl/update.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "lvsctl/fanout.h"

namespace lvsctl {

std::string web_name(const Server& server) {
    return "web " + server.mgmt_address.str();
}

std::string lb_name(const LoadBalancer& lb) {
    return "lb " + lb.mgmt_address.str();
}

bool UpdateResult::pending() const {
    return std::any_of(plan.begin(), plan.end(),
                       [](const HostPlan& p) { return !p.changes.empty(); });
}

bool UpdateResult::changed() const {
    return std::any_of(applied.begin(), applied.end(),
                       [](const HostReport& r) { return !r.done.empty(); });
}

ExitCode UpdateResult::code() const {
    bool unreachable = false;
    bool refused = false;
    bool failed = false;
    for (const auto& p : plan) {
        if (p.failure == ExitCode::permission) {
            refused = true;
        } else if (p.failure == ExitCode::unreachable) {
            unreachable = true;
        } else if (p.error) {
            failed = true;
        }
    }
    for (const auto& r : applied) {
        if (!r.ok() && !r.failure) {
            failed = true;
        }
    }
    if (failed) {
        return ExitCode::partial;
    }
    if (unreachable) {
        return changed() ? ExitCode::partial : ExitCode::unreachable;
    }
    if (refused) {
        return changed() ? ExitCode::partial : ExitCode::permission;
    }
    return ExitCode::ok;
}

LbDesiredState held_back(const LbDesiredState& desired,
                         const std::optional<std::vector<IpAddress>>& lb_website_ips,
                         const std::optional<std::vector<IpAddress>>& lb_destinations,
                         bool all_web_ok, const std::vector<IpAddress>& web_ok_addresses) {
    auto out = desired;
    if (!all_web_ok) {
        const std::set<IpAddress> there(
            lb_website_ips ? lb_website_ips->begin() : desired.website_ips.end(),
            lb_website_ips ? lb_website_ips->end() : desired.website_ips.end());
        std::erase_if(out.website_ips, [&](const IpAddress& ip) { return !there.contains(ip); });
    }
    const std::set<IpAddress> dests(
        lb_destinations ? lb_destinations->begin() : web_ok_addresses.end(),
        lb_destinations ? lb_destinations->end() : web_ok_addresses.end());
    const std::set<IpAddress> ok(web_ok_addresses.begin(), web_ok_addresses.end());
    for (auto& svc : out.services) {
        std::erase_if(svc.destinations, [&](const Destination& d) {
            return !dests.contains(d.address) && !ok.contains(d.address);
        });
    }
    // A family whose last website IP is held back keeps its service as the LB has it: only
    // drop the IPv6 service when the cluster itself has no IPv6 website IP any more.
    return out;
}

namespace {

// One host of the run: its name, its session, what was planned and what was done there.
struct HostSlot {
    std::string name;
    std::unique_ptr<Transport> transport;
    HostPlan plan;
    HostReport report;
};

struct WebHost : HostSlot {
    const Server* server = nullptr;
    std::optional<WebServerStep> step;
    bool added = false;
};

struct LbHost : HostSlot {
    const LoadBalancer* lb = nullptr;
    std::unique_ptr<LbBackend> backend;
    LbDesiredState desired;
};

}  // namespace

void describe(const WebPlan& p, std::vector<std::string>& out) {
    for (const auto& [name, value] : p.sysctls) {
        out.push_back(fmt::format("set {} = {}", name, value));
    }
    for (const auto& ip : p.add) {
        out.push_back(fmt::format("add {}/{} to lo", ip.str(), ip.is_v4() ? 32 : 128));
    }
    for (const auto& a : p.remove) {
        out.push_back(
            fmt::format("remove {}/{} from lo (after the LBs)", a.address.str(), a.prefix));
    }
    if (p.add.empty() && p.remove.empty() && (p.record_before || p.record_after)) {
        out.push_back("update the record of this cluster's website IPs on lo");
    }
}

namespace {

// Runs `fn` for host `plan.host`; what it throws becomes the host's failure, named by the host.
template <typename Fn>
void guarded(HostPlan& plan, HostReport& report, Fn&& fn) {
    auto fail = [&](ExitCode code, const std::string& what) {
        const auto message =
            what.rfind(plan.host + ":", 0) == 0 ? what : fmt::format("{}: {}", plan.host, what);
        plan.error = message;
        plan.failure = code;
        report.failure = code;
        report.errors.push_back(message);
    };
    try {
        fn();
    } catch (const Error& e) {
        fail(e.code(), e.what());
    } catch (const std::exception& e) {
        fail(ExitCode::internal, e.what());
    }
}

}  // namespace

UpdateResult Updater::run(const Cluster& cluster, bool dry_run) {
    std::vector<WebHost> webs(cluster.servers.size());
    std::vector<LbHost> lbs(cluster.load_balancers.size());
    for (std::size_t i = 0; i < webs.size(); ++i) {
        webs[i].server = &cluster.servers[i];
        webs[i].name = web_name(cluster.servers[i]);
        webs[i].plan.host = webs[i].report.host = webs[i].name;
    }
    for (std::size_t i = 0; i < lbs.size(); ++i) {
        lbs[i].lb = &cluster.load_balancers[i];
        lbs[i].name = lb_name(cluster.load_balancers[i]);
        lbs[i].plan.host = lbs[i].report.host = lbs[i].name;
        lbs[i].desired = desired_state(cluster, cluster.load_balancers[i], settings_.drain_timeout);
    }

    // 1. Reach and read every host at once.
    const bool lb_ssh = env_.needs_ssh(cluster);
    fan_out(webs.size() + lbs.size(), settings_.parallel, [&](std::size_t i) {
        if (i < webs.size()) {
            auto& w = webs[i];
            guarded(w.plan, w.report, [&] {
                w.transport = env_.connector().connect(
                    w.server->mgmt_address, static_cast<std::uint16_t>(w.server->ssh_port));
                w.step.emplace(*w.transport, w.name, cluster.id, cluster.website_ips);
                describe(w.step->observe(), w.plan.changes);
            });
            return;
        }
        auto& l = lbs[i - webs.size()];
        guarded(l.plan, l.report, [&] {
            if (lb_ssh) {
                l.transport = env_.connector().connect(l.lb->mgmt_address,
                                                       static_cast<std::uint16_t>(l.lb->ssh_port));
            }
            l.backend = env_.backend(cluster, *l.lb, l.transport.get(), l.name);
            l.plan.changes = l.backend->plan(l.desired);
        });
    });

    UpdateResult result;
    for (const auto& w : webs) {
        result.plan.push_back(w.plan);
    }
    for (const auto& l : lbs) {
        result.plan.push_back(l.plan);
    }
    if (dry_run) {
        return result;
    }

    // 2. Web servers: sysctls and new website IPs on lo.
    fan_out(webs.size(), settings_.parallel, [&](std::size_t i) {
        auto& w = webs[i];
        if (!w.step || w.plan.error) {
            return;
        }
        try {
            w.added = w.step->add(w.report);
        } catch (const Error& e) {
            w.report.failure = e.code();
            w.report.errors.push_back(e.what());
        }
    });
    bool all_web_ok = true;
    std::vector<IpAddress> web_ok;
    for (const auto& w : webs) {
        if (w.added) {
            web_ok.push_back(w.server->address);
            if (w.server->address_v6) {
                web_ok.push_back(*w.server->address_v6);
            }
        } else {
            all_web_ok = false;
        }
    }

    // 3. LBs, holding back what a failed web server lacks.
    std::vector<char> lb_ok(lbs.size(), 0);
    fan_out(lbs.size(), settings_.parallel, [&](std::size_t i) {
        auto& l = lbs[i];
        if (!l.backend || l.plan.error) {
            return;
        }
        try {
            const auto ips = l.backend->website_ips();
            if (!all_web_ok && !ips) {
                l.report.errors.push_back(fmt::format(
                    "{}: not changed: a web server of the cluster failed, and this backend cannot "
                    "keep new website IPs and servers back",
                    l.name));
                return;
            }
            const auto want =
                held_back(l.desired, ips, l.backend->destinations(), all_web_ok, web_ok);
            lb_ok[i] = l.backend->apply(want, l.report) ? 1 : 0;
        } catch (const Error& e) {
            l.report.failure = e.code();
            l.report.errors.push_back(e.what());
        }
    });
    const bool all_lb_ok = std::all_of(lb_ok.begin(), lb_ok.end(), [](char c) { return c != 0; });

    // 4. Web servers: former website IPs leave lo, once no LB sends them traffic.
    fan_out(webs.size(), settings_.parallel, [&](std::size_t i) {
        auto& w = webs[i];
        if (!w.added || (w.step->plan().remove.empty() && !w.step->plan().record_after)) {
            return;
        }
        if (!all_lb_ok) {
            if (!w.step->plan().remove.empty()) {
                w.report.errors.push_back(fmt::format(
                    "{}: former website IPs left on lo: an LB failed, and may still send them "
                    "traffic",
                    w.name));
            }
            return;
        }
        try {
            w.step->remove(w.report);
        } catch (const Error& e) {
            w.report.failure = e.code();
            w.report.errors.push_back(e.what());
        }
    });

    for (auto& w : webs) {
        if (w.transport) {
            w.report.changing_commands = w.transport->changing_commands();
        }
        result.applied.push_back(std::move(w.report));
    }
    for (auto& l : lbs) {
        if (l.transport) {
            l.report.changing_commands = l.transport->changing_commands();
        }
        result.applied.push_back(std::move(l.report));
    }
    return result;
}

}  // namespace lvsctl
