#include "lvsctl/lb/monitor.h"

#include <fmt/format.h>

#include <algorithm>

#include "lvsctl/error.h"

namespace lvsctl {

std::string CheckTarget::where() const {
    return address.is_v4() ? fmt::format("{}:{}", address.str(), port)
                           : fmt::format("[{}]:{}", address.str(), port);
}

HealthSettings Monitor::settings() const {
    HealthSettings s;
    s.reentry = std::chrono::seconds(checks_.reentry);
    s.load_scale = checks_.load_scale;
    return s;
}

void Monitor::load(const LbDesiredState& desired) {
    if (!desired.checks) {
        throw Error(ExitCode::data,
                    fmt::format("cluster {}: the desired state has no checks (written by an "
                                "lvsctl from before the monitor: run update)",
                                desired.cluster_id));
    }
    std::map<IpAddress, std::uint32_t> configured;
    std::map<IpAddress, std::uint32_t> in_kernel;
    for (const auto& svc : desired.services) {
        for (const auto& d : svc.destinations) {
            configured[d.address] = d.weight;
        }
        const auto dests = kernel_.destinations(ServiceKey::fwmark_service(svc.family, svc.fwmark));
        for (const auto& d : dests.value_or(std::vector<DestInfo>{})) {
            in_kernel[d.key.address] = d.settings.weight;
        }
    }
    std::map<IpAddress, Server> next;
    for (const auto& s : desired.checks->servers) {
        const auto weight = configured.at(s.address);  // parse_desired_state checked it is there
        CheckTarget target{s.address, desired.checks->port, s.mgmt_address};
        if (auto it = servers_.find(s.address); it != servers_.end()) {
            auto server = std::move(it->second);
            server.target = target;
            server.health.set_configured(weight);
            server.dirty = true;
            next.emplace(s.address, std::move(server));
            continue;
        }
        const auto kernel = in_kernel.find(s.address);
        Server server{target, ServerHealth(weight, kernel == in_kernel.end()
                                                       ? std::nullopt
                                                       : std::optional(kernel->second))};
        server.dirty = true;
        next.emplace(s.address, std::move(server));
    }
    servers_ = std::move(next);
    desired_ = desired;
    checks_ = *desired.checks;
}

std::vector<CheckTarget> Monitor::targets() const {
    std::vector<CheckTarget> out;
    for (const auto& [address, server] : servers_) {
        out.push_back(server.target);
    }
    return out;
}

const ServerHealth* Monitor::health(const IpAddress& server) const {
    const auto it = servers_.find(server);
    return it == servers_.end() ? nullptr : &it->second.health;
}

void Monitor::note(Server& server, Transition transition, std::string line) {
    if (transition == Transition::none) {
        return;
    }
    server.dirty = true;
    if (transition != Transition::weight_changed) {
        ++server.transitions;
    }
    pending_log_.push_back(std::move(line));
}

HealthRecord Monitor::record(MonitorTime now, std::int64_t unix_now) const {
    HealthRecord r;
    r.cluster_id = desired_.cluster_id;
    r.updated = unix_now;
    r.interval = checks_.interval;
    r.timeout = checks_.timeout;
    for (const auto& [address, server] : servers_) {
        ServerHealthRecord s;
        s.state = server.health.state();
        s.in_service = server.health.in_service();
        s.configured = server.health.configured();
        s.weight = server.health.weight();
        if (server.last_check) {
            s.last_check =
                unix_now -
                std::chrono::duration_cast<std::chrono::seconds>(now - *server.last_check).count();
        }
        s.last_ok = server.last_ok;
        s.why = server.why;
        s.latency_ms = static_cast<std::uint32_t>(server.latency.count());
        s.transitions = server.transitions;
        r.servers[address] = std::move(s);
    }
    return r;
}

std::vector<std::optional<ServiceInfo>> Monitor::kernel_table() {
    std::vector<std::optional<ServiceInfo>> out;
    const auto services = kernel_.services();
    for (const auto& svc : desired_.services) {
        const auto key = ServiceKey::fwmark_service(svc.family, svc.fwmark);
        const auto it = std::find_if(services.begin(), services.end(),
                                     [&](const ServiceInfo& i) { return i.key == key; });
        auto dests = it == services.end() ? std::nullopt : kernel_.destinations(key);
        if (!dests) {
            out.emplace_back();
            continue;
        }
        ServiceInfo info = *it;
        info.dests = std::move(*dests);
        out.emplace_back(std::move(info));
    }
    return out;
}

void Monitor::checked(const IpAddress& address, bool ok, MonitorTime now, std::string why,
                      std::chrono::milliseconds latency) {
    const auto it = servers_.find(address);
    if (it == servers_.end()) {
        return;
    }
    auto& server = it->second;
    server.last_check = now;
    server.last_ok = ok;
    server.why = ok ? std::string() : std::move(why);
    server.latency = latency;
    const auto transition = server.health.check(ok, now, settings());
    const auto where = server.target.where();
    note(server, transition,
         transition == Transition::taken_out
             ? fmt::format("[inactive] shutting down {} due to connection failure", where)
             : fmt::format("[ active ] making {} available", where));
}

void Monitor::step(MonitorTime now, const std::map<IpAddress, double>& loads) {
    for (auto& [address, server] : servers_) {
        const auto load = loads.find(address);
        const auto known = load == loads.end() ? std::nullopt : std::optional(load->second);
        const auto before = server.health.weight();
        const bool slow_start = server.health.in_slow_start();
        const auto transition = server.health.tick(now, known, settings());
        note(server, transition,
             known && !slow_start
                 ? fmt::format("weight of {} from {} to {} (load {:.2f})", server.target.where(),
                               before, server.health.weight(), *known)
                 : fmt::format("weight of {} from {} to {} (slow start)", server.target.where(),
                               before, server.health.weight()));
    }
}

std::vector<std::string> Monitor::flush() {
    std::vector<IpvsChange> changes;
    for (const auto& svc : desired_.services) {
        const auto key = ServiceKey::fwmark_service(svc.family, svc.fwmark);
        std::optional<std::vector<DestInfo>> kernel;  // dumped once, when a server needs it
        for (const auto& d : svc.destinations) {
            const auto it = servers_.find(d.address);
            if (it == servers_.end() || !it->second.dirty) {
                continue;
            }
            if (!kernel) {
                kernel = kernel_.destinations(key);
                if (!kernel) {
                    break;  // no such service (yet): the agent creates it
                }
            }
            const auto want = effective_weight(d.weight, &it->second.health, checks_.quiesce);
            const DestKey dest{d.address, d.port};
            const auto have = std::find_if(kernel->begin(), kernel->end(),
                                           [&](const DestInfo& i) { return i.key == dest; });
            IpvsChange change;
            change.service = key;
            change.dest = dest;
            change.dest_settings.forward = to_ipvs(d.forwarding);
            if (!want) {
                if (have == kernel->end()) {
                    continue;
                }
                change.op = IpvsOp::delete_dest;
            } else if (have == kernel->end()) {
                change.op = IpvsOp::add_dest;
                change.dest_settings.weight = *want;
            } else if (have->settings.weight != *want) {
                change.op = IpvsOp::set_dest;
                change.dest_settings = have->settings;
                change.dest_settings.weight = *want;
            } else {
                continue;
            }
            changes.push_back(change);
        }
    }
    for (auto& [address, server] : servers_) {
        server.dirty = false;
    }
    auto log = std::move(pending_log_);
    pending_log_.clear();
    if (changes.empty()) {
        return log;
    }
    const auto results = kernel_.apply(changes);
    for (std::size_t i = 0; i < changes.size() && i < results.size(); ++i) {
        if (results[i] != 0) {
            // Tried again at the next flush.
            ++kernel_errors_;
            servers_.at(changes[i].dest.address).dirty = true;
            log.push_back(
                fmt::format("{}: {}", changes[i].describe(), changes[i].error_text(results[i])));
        }
    }
    return log;
}

}  // namespace lvsctl
